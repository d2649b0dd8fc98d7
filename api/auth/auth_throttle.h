// api/auth/auth_throttle.h — slows password guessing (SPEC 4): failed Basic
// logins are counted per (user, client) and per client, and once a count
// passes its free allowance each further attempt must wait, doubling from
// 1 s up to a maximum. Never per user alone, so nobody can lock `admin` out
// from elsewhere.
//
// A client is an IPv4 address, or an IPv6 /64 (one host is usually given a
// whole /64 and could otherwise rotate through it to escape the limit). The
// tables are bounded: when one is full its least recently used entry is
// forgotten, never the whole table, so a flood of new clients cannot reset
// the throttling of anyone who failed recently.
//
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace strongroom::api {

struct AuthThrottleOptions {
  // Failures allowed per (user, client) before each further attempt must
  // wait, doubling from 1 s up to max_backoff.
  unsigned free_failures_per_user_address = 5;
  // Failures allowed per client within address_window before it must wait.
  unsigned free_failures_per_address = 30;
  std::chrono::seconds max_backoff{60};
  // A client's count is forgotten after this long without a failure.
  std::chrono::seconds address_window{60};
  // Entries kept per table (default 100000); beyond, the least recently
  // used is forgotten. REQUIRES: at least 1.
  std::size_t max_tracked = 100000;
};

class AuthThrottle {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

  // AuthThrottle reads the time from `now` (default: the steady clock), so
  // tests move it by hand. REQUIRES: `now` is monotonic.
  explicit AuthThrottle(
      AuthThrottleOptions options, SteadyNow now = [] { return std::chrono::steady_clock::now(); });

  // WaitSeconds returns how long `user` from `peer_address` ("ip:port" or
  // "[ipv6]:port", as the front formats it) must still wait before its
  // next attempt; 0: it may try now. A lookup counts as a use: a client
  // that keeps knocking while throttled stays in the tables.
  std::int64_t WaitSeconds(std::string_view user, std::string_view peer_address);
  // RecordFailure counts a failed attempt.
  void RecordFailure(std::string_view user, std::string_view peer_address);
  // RecordSuccess forgets the (user, client) count; the client's stays.
  void RecordSuccess(std::string_view user, std::string_view peer_address);

  // ClientOf returns the key a peer address is throttled under: an IPv4
  // address as is (also when written as IPv4-mapped IPv6, ::ffff:a.b.c.d),
  // an IPv6 address as its /64 ("2001:db8:1:2::/64"); the port and an IPv6
  // zone are dropped. Text that is no address is its own key.
  static std::string ClientOf(std::string_view peer_address);

 private:
  struct Failures {
    unsigned count = 0;
    std::chrono::steady_clock::time_point last{};
  };
  // FailureTable is a map of at most `capacity` entries that forgets its
  // least recently used entry to make room.
  class FailureTable {
   public:
    explicit FailureTable(std::size_t capacity) : capacity_(capacity) {}
    // Find returns the entry (now the most recently used), or null.
    Failures* Find(const std::string& key);
    // Touch returns the entry, created if absent (evicting the least
    // recently used when full); it is now the most recently used.
    Failures& Touch(const std::string& key);
    void Erase(const std::string& key);

   private:
    struct Entry {
      Failures failures;
      std::list<std::string>::iterator position;  // in order_
    };
    const std::size_t capacity_;
    std::list<std::string> order_;  // front: most recently used
    std::unordered_map<std::string, Entry> entries_;
  };

  // UserClientKey joins user and client unambiguously (a login may hold
  // any byte).
  static std::string UserClientKey(std::string_view user, const std::string& client);

  const AuthThrottleOptions options_;
  const SteadyNow now_;
  std::mutex mu_;
  FailureTable user_address_failures_;  // mu_
  FailureTable address_failures_;       // mu_
};

}  // namespace strongroom::api

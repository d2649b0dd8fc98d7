#include "api/auth/auth_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace strongroom::api {

AuthThrottle::AuthThrottle(AuthThrottleOptions options, SteadyNow now)
    : options_(options),
      now_(std::move(now)),
      user_address_failures_(std::max<std::size_t>(1, options.max_tracked)),
      address_failures_(std::max<std::size_t>(1, options.max_tracked)) {}

std::string AuthThrottle::ClientOf(std::string_view peer_address) {
  std::string_view host = peer_address;
  if (host.starts_with('[')) {
    host.remove_prefix(1);
    host = host.substr(0, host.find(']'));
  } else if (std::size_t colon = host.find(':');
             colon != std::string_view::npos && colon == host.rfind(':')) {
    host = host.substr(0, colon);  // "a.b.c.d:port"; several colons: bare IPv6
  }
  host = host.substr(0, host.find('%'));  // an IPv6 zone names no other host
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return text;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
  char buffer[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    // SECURITY: the same IPv4 client over a dual-stack socket is one client.
    std::memcpy(&v4, &v6.s6_addr[12], sizeof(v4));
    ::inet_ntop(AF_INET, &v4, buffer, sizeof(buffer));
    return buffer;
  }
  // SECURITY: a /64 is one host's (or one link's) allocation; keying on
  // the full address would let it rotate through 2^64 fresh budgets.
  std::memset(&v6.s6_addr[8], 0, 8);
  ::inet_ntop(AF_INET6, &v6, buffer, sizeof(buffer));
  return std::string(buffer) + "/64";
}

std::string AuthThrottle::UserClientKey(std::string_view user, const std::string& client) {
  std::string key = std::to_string(user.size());
  key.push_back(':');
  key.append(user);
  key.append(client);
  return key;
}

AuthThrottle::Failures* AuthThrottle::FailureTable::Find(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second.position);
  return &it->second.failures;
}

AuthThrottle::Failures& AuthThrottle::FailureTable::Touch(const std::string& key) {
  if (Failures* found = Find(key)) return *found;
  // SECURITY: forget only the least recently used entry. Clearing the
  // table when full let a flood of new clients reset everyone's throttle.
  while (entries_.size() >= capacity_ && !order_.empty()) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(key);
  Entry& entry = entries_[key];
  entry.position = order_.begin();
  return entry.failures;
}

void AuthThrottle::FailureTable::Erase(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  order_.erase(it->second.position);
  entries_.erase(it);
}

std::int64_t AuthThrottle::WaitSeconds(std::string_view user, std::string_view peer_address) {
  const std::string client = ClientOf(peer_address);
  std::lock_guard lock(mu_);
  const auto now = now_();
  auto backoff = [&](const Failures& f, unsigned free) -> std::int64_t {
    if (f.count < free) return 0;
    std::int64_t delay = std::min<std::int64_t>(options_.max_backoff.count(),
                                                std::int64_t{1} << std::min(f.count - free, 20u));
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - f.last).count();
    return std::max<std::int64_t>(0, delay - elapsed);
  };
  std::int64_t wait = 0;
  if (Failures* pair = user_address_failures_.Find(UserClientKey(user, client))) {
    wait = backoff(*pair, options_.free_failures_per_user_address);
  }
  if (Failures* by_address = address_failures_.Find(client)) {
    if (now - by_address->last > options_.address_window) {
      address_failures_.Erase(client);
    } else {
      wait = std::max(wait, backoff(*by_address, options_.free_failures_per_address));
    }
  }
  return wait;
}

void AuthThrottle::RecordFailure(std::string_view user, std::string_view peer_address) {
  const std::string client = ClientOf(peer_address);
  std::lock_guard lock(mu_);
  const auto now = now_();
  Failures& pair = user_address_failures_.Touch(UserClientKey(user, client));
  ++pair.count;
  pair.last = now;
  Failures& by_address = address_failures_.Touch(client);
  ++by_address.count;
  by_address.last = now;
}

void AuthThrottle::RecordSuccess(std::string_view user, std::string_view peer_address) {
  const std::string client = ClientOf(peer_address);
  std::lock_guard lock(mu_);
  user_address_failures_.Erase(UserClientKey(user, client));
}

}  // namespace strongroom::api

// api/http/address_counts.h — the per-client-address connection counts behind
// the front's per-address caps (private to api/http).
//
// Thread-safety: AddressCounts is thread-safe (the acceptor admits, the I/O
// threads finish handshakes and close); HostOf is a pure function.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace strongroom::api {

// AddressCounts counts each client IP address's open and handshaking
// connections, for the per-address caps. Thread-safe.
class AddressCounts {
 public:
  // TryAdmit counts a new connection (open and in handshake) from `host`;
  // false (nothing counted) when that would pass a non-zero cap.
  bool TryAdmit(const std::string& host, std::size_t max_open, std::size_t max_handshaking);
  // HandshakeDone and Closed undo TryAdmit's counts.
  void HandshakeDone(const std::string& host);
  void Closed(const std::string& host, bool in_handshake);

 private:
  struct Count {
    std::size_t open = 0, handshaking = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Count> counts_;  // guarded by mu_; no zero entries
};

// HostOf returns the IP part of "ip:port" or "[ipv6]:port".
std::string HostOf(const std::string& address);

}  // namespace strongroom::api

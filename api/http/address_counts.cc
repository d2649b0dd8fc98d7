#include "api/http/address_counts.h"

namespace strongroom::api {

std::string HostOf(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

bool AddressCounts::TryAdmit(const std::string& host, std::size_t max_open,
                             std::size_t max_handshaking) {
  std::lock_guard lock(mu_);
  Count& count = counts_[host];
  if ((max_open != 0 && count.open >= max_open) ||
      (max_handshaking != 0 && count.handshaking >= max_handshaking)) {
    if (count.open == 0) counts_.erase(host);
    return false;
  }
  ++count.open;
  ++count.handshaking;
  return true;
}

void AddressCounts::HandshakeDone(const std::string& host) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(host);
  if (it != counts_.end() && it->second.handshaking > 0) --it->second.handshaking;
}

void AddressCounts::Closed(const std::string& host, bool in_handshake) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(host);
  if (it == counts_.end()) return;
  if (in_handshake && it->second.handshaking > 0) --it->second.handshaking;
  if (it->second.open > 0) --it->second.open;
  if (it->second.open == 0) counts_.erase(it);
}

}  // namespace strongroom::api

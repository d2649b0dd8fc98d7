#include "fuzz/audit_chain.h"

#include "audit/record.h"

namespace strongroom::fuzz {

namespace {
constexpr std::string_view kHashMarker = ",\"hash\":\"";
constexpr std::string_view kPrevMarker = ",\"prev\":\"";
}  // namespace

std::string HashOf(std::string_view line) {
  std::size_t at = line.rfind(kHashMarker);
  if (at == std::string_view::npos) return "";
  return std::string(line.substr(at + kHashMarker.size(), 64));
}

std::string Rehash(std::string_view line, std::string_view prev) {
  std::size_t marker = line.rfind(kHashMarker);
  if (marker == std::string_view::npos) return std::string(line);
  std::string body(line.substr(0, marker));
  std::size_t at = body.rfind(kPrevMarker);
  std::string chain_prev = std::string(audit::kZeroHash);
  if (at != std::string::npos && body.size() >= at + kPrevMarker.size() + 64) {
    at += kPrevMarker.size();
    if (prev.size() == 64) body.replace(at, 64, prev);
    chain_prev = body.substr(at, 64);
  }
  return body + std::string(kHashMarker) + audit::ChainHash(chain_prev, body) + "\"}";
}

}  // namespace strongroom::fuzz

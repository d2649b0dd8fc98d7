#include "policies/fingerprint.h"

#include "base/bytes.h"

namespace strongroom::policies {
namespace {

constexpr std::size_t kSha256Bytes = 32;

}  // namespace

std::optional<std::string> NormalizeFingerprint(std::string_view text) {
  std::string digits;
  digits.reserve(text.size());
  for (char c : text) {
    if (c != ':') digits.push_back(c);
  }
  StatusOr<Bytes> bytes = HexDecode(digits);
  if (!bytes.has_value() || bytes->size() != kSha256Bytes) return std::nullopt;
  return HexEncode(*bytes);
}

bool IsNormalFingerprint(std::string_view text) {
  if (text.size() != 2 * kSha256Bytes) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace strongroom::policies

#include "policies/names.h"

#include <algorithm>

namespace strongroom::policies {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxRoleName = 64;
constexpr std::size_t kMaxSubjectName = 253;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerAscii(x) == LowerAscii(y);
         });
}

bool IsValidBindingNamespace(std::string_view name) {
  if (name == "*") return true;
  if (name.empty() || name.size() > kMaxLabel) return false;
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsValidRoleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRoleName) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsValidSubjectName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSubjectName) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace strongroom::policies

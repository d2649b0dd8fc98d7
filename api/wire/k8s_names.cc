#include "api/wire/k8s_names.h"

#include <openssl/rand.h>

#include <cctype>

#include "base/openssl_ptr.h"

namespace strongroom::api {
namespace {

constexpr std::size_t kMaxObjectName = 253;
constexpr std::size_t kMaxLabelName = 63;
constexpr std::size_t kShownChars = 64;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Shown returns at most the first 64 characters of `text` for a message, with
// control, quote, backslash and non-ASCII bytes replaced by '?' so the echo
// can neither break the message's quoting nor carry terminal escapes.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kShownChars)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f && c != '"' && c != '\\' ? c : '?');
  }
  if (text.size() > kShownChars) out += "...";
  return out;
}

Status Invalid(std::string_view field, std::string_view value, std::string_view rule) {
  return Status::InvalidArgument(std::string(field) + " \"" + Shown(value) +
                                 "\" is invalid: " + std::string(rule));
}

bool IsDns1123Subdomain(std::string_view name) {
  if (name.empty() || name.size() > kMaxObjectName) return false;
  // Kubernetes: dot-separated labels, each [a-z0-9]([-a-z0-9]*[a-z0-9])?
  std::size_t start = 0;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// IsLabelName: 1..63 of [A-Za-z0-9-_.], alphanumeric at both ends.
bool IsLabelName(std::string_view name) {
  if (name.empty() || name.size() > kMaxLabelName) return false;
  if (!IsAlnum(name.front()) || !IsAlnum(name.back())) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

Status ValidateObjectName(std::string_view name, std::string_view field) {
  if (name.empty()) {
    return Status::InvalidArgument(std::string(field) +
                                   " is required: must be 1 to 253 characters");
  }
  if (name.size() > kMaxObjectName)
    return Invalid(field, name, "must be no more than 253 characters");
  if (!IsDns1123Subdomain(name)) {
    return Invalid(field, name,
                   "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                   "characters, '-' or '.', and each dot-separated part must start and end with an "
                   "alphanumeric character");
  }
  return Status::Ok();
}

Status ValidateNamespaceName(std::string_view namespace_name) {
  if (namespace_name.empty()) {
    return Status::InvalidArgument("namespace is required: must be 1 to 63 characters");
  }
  if (namespace_name.size() > kMaxLabelName) {
    return Invalid("namespace", namespace_name, "must be no more than 63 characters");
  }
  bool ok = IsLowerAlnum(namespace_name.front()) && IsLowerAlnum(namespace_name.back());
  for (char c : namespace_name) ok = ok && (IsLowerAlnum(c) || c == '-');
  if (!ok) {
    return Invalid("namespace", namespace_name,
                   "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                   "or '-', and must start and end with an alphanumeric character");
  }
  return Status::Ok();
}

StatusOr<std::string> GenerateObjectName(std::string_view prefix) {
  if (prefix.empty()) {
    return std::unexpected(Status::InvalidArgument("metadata.generateName must not be empty"));
  }
  // Kubernetes' alphabet: no vowels (no accidental words) and no 0/1/3 (no
  // look-alikes). 256 % 27 != 0 gives a slight bias, harmless for names that
  // only need to be unlikely to collide.
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  constexpr std::size_t kSuffix = 5;
  unsigned char random[kSuffix];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return std::unexpected(OpenSslError("generating a name"));
  }
  std::string name(prefix.substr(0, kMaxObjectName - kSuffix));
  for (unsigned char r : random) name.push_back(kAlphabet[r % kAlphabet.size()]);
  if (!ValidateObjectName(name, "metadata.generateName").ok()) {
    return std::unexpected(Invalid("metadata.generateName", prefix,
                                   "the generated name must be a lowercase RFC 1123 subdomain"));
  }
  return name;
}

Status ValidateLabelKey(std::string_view key) {
  std::string_view name = key;
  std::size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!IsDns1123Subdomain(prefix)) {
      return Invalid("label key", key, "the prefix must be a lowercase RFC 1123 subdomain");
    }
  }
  if (!IsLabelName(name)) {
    return Invalid("label key", key,
                   "name part must be 1 to 63 characters of [A-Za-z0-9-_.], starting and ending "
                   "with an alphanumeric character");
  }
  return Status::Ok();
}

Status ValidateLabelValue(std::string_view value) {
  if (value.empty()) return Status::Ok();
  if (!IsLabelName(value)) {
    return Invalid("label value", value,
                   "must be at most 63 characters of [A-Za-z0-9-_.], starting and ending with an "
                   "alphanumeric character");
  }
  return Status::Ok();
}

}  // namespace strongroom::api

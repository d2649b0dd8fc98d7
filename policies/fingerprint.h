// policies/fingerprint.h — the one spelling of a certificate's SHA-256
// fingerprint that identity entries are compared in.
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strongroom::policies {

// NormalizeFingerprint returns `text` as 64 lowercase hex digits, accepting
// upper or lower case and colons between digits ("AB:CD:..."); nullopt when
// it is not 32 bytes of hex.
std::optional<std::string> NormalizeFingerprint(std::string_view text);

// IsNormalFingerprint tells whether `text` is already in that spelling (64
// lowercase hex digits), so it can be compared as it is: the TLS front
// writes a peer's fingerprint so, and a decrypt need not copy it three
// times to learn that (issue 19).
bool IsNormalFingerprint(std::string_view text);

}  // namespace strongroom::policies

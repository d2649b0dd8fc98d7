// fuzz/audit_chain.h — what the two audit targets share: the fixed audit
// public key their seed logs were signed for, and the re-chaining of
// mutated lines, so the fuzzer reaches past each line's hash check into
// the members, links and checkpoints behind it.
#pragma once

#include <string>
#include <string_view>

namespace strongroom::fuzz {

// kAuditPublicKeyPem is the P-256 key of the seed logs' checkpoints
// (fuzz/corpus/audit_*; its private half was thrown away once they were
// signed).
inline constexpr std::string_view kAuditPublicKeyPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELBRkqvvxOxe+1JwamaiBfDFZkQxw\n"
    "Nw3Wt0Fzmd6W1xak6u/nMQrrPeGEzy271+YknMSC8l7NFUUP2T5uO7hkmA==\n"
    "-----END PUBLIC KEY-----\n";

// Rehash returns `line` with its `"prev":"..."` member set to `prev` (when
// it has one of 64 characters) and its final hash recomputed, as a writer
// without the signing key could; the line unchanged when it has no
// `,"hash":"` marker.
std::string Rehash(std::string_view line, std::string_view prev);

// HashOf returns the 64 characters after a line's last `,"hash":"` ("" if none).
std::string HashOf(std::string_view line);

}  // namespace strongroom::fuzz

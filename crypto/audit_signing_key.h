// crypto/audit_signing_key.h — the EC P-256 key pair that signs audit
// checkpoints. Generated inside the token; the private key is sensitive and
// non-extractable, so only the token can sign. Auditors pin the public key's
// SHA-256 fingerprint out of band (SPEC section 4).
// Thread-safety: functions are thread-safe (Token is).
#pragma once

#include <array>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/token.h"

namespace strongroom::crypto {

// kAuditKeyLabel is the CKA_LABEL (and CKA_ID) of both halves of the pair.
inline constexpr std::string_view kAuditKeyLabel = "strongroom-audit-signing";

struct AuditPublicKey {
  std::string pem;                 // SubjectPublicKeyInfo, PEM
  Bytes der;                       // SubjectPublicKeyInfo, DER
  std::string fingerprint_sha256;  // hex SHA-256 of `der`
};

// EnsureAuditKeyPair creates the pair if the token has none. Returns true
// when it created one, false when it already existed.
StatusOr<bool> EnsureAuditKeyPair(Token& token);

// GetAuditPublicKey reads the public key from the token (kNotFound if none).
StatusOr<AuditPublicKey> GetAuditPublicKey(Token& token);

// SignWithAuditKey signs SHA-256(message) with ECDSA P-256 in the token and
// returns the raw r||s signature (64 bytes).
StatusOr<std::array<std::uint8_t, 64>> SignWithAuditKey(Token& token, ByteSpan message);

// VerifyAuditSignature checks a raw r||s signature over SHA-256(message)
// against a PEM public key, without any token (offline verification).
// kIntegrityError when it does not verify, kInvalidArgument for a bad PEM.
Status VerifyAuditSignature(std::string_view public_key_pem, ByteSpan message, ByteSpan signature);

}  // namespace strongroom::crypto

// crypto/kek.h — key-encryption keys inside the token, and every operation
// that moves key material across the token boundary: generating a data key
// (or the record-MAC key) wrapped under a KEK, unwrapping one into locked
// memory, and re-wrapping one from an old KEK to a new one.
//
// SECURITY: a KEK is AES-256, generated inside the token with CKA_TOKEN,
// CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false, and only CKA_WRAP /
// CKA_UNWRAP allowed: it never leaves the token and cannot C_Decrypt. A data
// key is unwrapped into a *session* object that is extractable and not
// sensitive, its CKA_VALUE read into SecretBytes, and the object destroyed
// in the same session (SPEC section 4); if it cannot be destroyed, that
// session is closed instead of going back to the pool
// (Token::RunWithSessionObjects). Wrapping uses CKM_AES_KEY_WRAP
// (RFC 3394), whose integrity check makes a tampered wrapped key fail.
// Thread-safety: functions are thread-safe (Token is).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/token.h"

namespace strongroom::crypto {

// WrappedKeyType says what a wrapped key is once unwrapped.
enum class WrappedKeyType {
  kAes256,        // a data key (AES-256-GCM)
  kHmacSha256,    // the record-MAC key (32-byte generic secret)
};

// KekLabel returns the CKA_LABEL a KEK with `id` carries ("strongroom-kek-<id>").
std::string KekLabel(std::string_view kek_id);

// GenerateKek creates a new KEK in the token with CKA_ID = `kek_id` and
// KekLabel(kek_id). kAlreadyExists if one with that id exists.
Status GenerateKek(Token& token, std::string_view kek_id);

// KekExists reports whether a KEK with `kek_id` is in the token.
StatusOr<bool> KekExists(Token& token, std::string_view kek_id);

// ListKekIds returns the ids of every Strongroom KEK in the token.
StatusOr<std::vector<std::string>> ListKekIds(Token& token);

// GeneratedKey is a fresh key: its wrapped form (to store) and its plaintext
// (to use now).
struct GeneratedKey {
  Bytes wrapped;
  SecretBytes plaintext;
};

// GenerateWrappedKey generates a 32-byte key of `type` inside the token,
// wraps it under `kek_id` and reads its value into locked memory.
// kNotFound when the KEK is missing.
StatusOr<GeneratedKey> GenerateWrappedKey(Token& token, std::string_view kek_id,
                                          WrappedKeyType type);

// UnwrapKey unwraps `wrapped` under `kek_id` into locked memory.
// kIntegrityError when the wrapped bytes are not a valid wrap under that KEK;
// kNotFound when the KEK is missing.
StatusOr<SecretBytes> UnwrapKey(Token& token, std::string_view kek_id, ByteSpan wrapped,
                                WrappedKeyType type);

// RewrapKey unwraps under `from_kek_id` and wraps under `to_kek_id` inside
// the token; the key's value never reaches this process.
StatusOr<Bytes> RewrapKey(Token& token, std::string_view from_kek_id, std::string_view to_kek_id,
                          ByteSpan wrapped, WrappedKeyType type);

}  // namespace strongroom::crypto

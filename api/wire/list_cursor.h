// api/wire/list_cursor.h — the opaque `continue` tokens of list endpoints (SPEC
// 6.1). A token carries (resource kind, namespace, last key) and an
// HMAC-SHA256 over them, encoded as base64url without padding. The server's
// key is derived from the record-MAC key (WithKey, kKeyInfo; issue 18), so a
// token from one node, or from before a restart, works on every node of the
// same store and token; a tampered token, one made for another kind or
// namespace, or one made under another key (another token's) is refused.
// Thread-safety: after creation, const methods may be called from any thread
// concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::api {

class ListCursorCodec {
 public:
  // Create returns a codec with a fresh random 32-byte MAC key (RAND_bytes)
  // held in SecretBytes. kInternal when the random generator fails; the
  // SecretBytes::Allocate errors when no secure arena is installed or it is
  // full. The codec is move-only.
  static StatusOr<ListCursorCodec> Create();

  // kKeyInfo is the HKDF info under which the server derives the codec's
  // key from the record-MAC key (crypto::Keyring::DeriveKey).
  static constexpr std::string_view kKeyInfo = "strongroom continue cursor v1";

  // WithKey returns a codec keyed with `key` (32 bytes: the key derived
  // under kKeyInfo). kInvalidArgument for another size.
  static StatusOr<ListCursorCodec> WithKey(SecretBytes key);

  // Encode returns the token for a listing of `kind` in `namespace_name` that
  // stopped after `last_key`. REQUIRES: the three strings together are at most
  // 700 bytes, so the token stays under Decode's 1024-character limit (object
  // names are at most 253, namespaces 63). SECURITY: the token is
  // authenticated, not encrypted: `last_key` is readable by whoever holds it.
  std::string Encode(std::string_view kind, std::string_view namespace_name,
                     std::string_view last_key) const;

  // Decode returns the last key carried by `token`, or kInvalidArgument
  // "invalid continue token" when the token is empty, over 1024 characters
  // (refused before any decoding), not canonical unpadded base64url, its MAC
  // does not verify (compared in constant time), or it was made for another
  // `kind` or `namespace_name`.
  StatusOr<std::string> Decode(std::string_view token, std::string_view kind,
                               std::string_view namespace_name) const;

 private:
  static constexpr std::size_t kMacBytes = 32;

  ListCursorCodec() = default;
  // Mac writes HMAC-SHA256(key_, payload) into `mac`; false when OpenSSL fails.
  bool Mac(ByteSpan payload, std::span<std::uint8_t, kMacBytes> mac) const;

  SecretBytes key_;
};

}  // namespace strongroom::api

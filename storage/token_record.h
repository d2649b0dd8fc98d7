// storage/token_record.h — an API token as stored in Table::kTokens (key:
// the token id). The token's secret is never stored: only its SHA-256.
// Thread-safety: values.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

struct TokenRecord {
  std::string id;              // public id, part of the token string
  std::string owner_login;     // the user whose permissions bound the token
  std::string role;            // the token's own role...
  std::string namespace_name;  // ...bound to this namespace ("*": all)
  std::string description;
  std::array<std::uint8_t, 32> secret_sha256{};  // SHA-256 of the secret part
  std::int64_t created_micros = 0;
  std::int64_t expires_micros = 0;  // 0: never
  std::int64_t revoked_micros = 0;  // 0: not revoked
};

Bytes EncodeTokenRecord(const TokenRecord& token);
StatusOr<TokenRecord> DecodeTokenRecord(ByteSpan bytes);

}  // namespace strongroom::storage

// storage/user_record.h — a user account as stored in Table::kUsers (key:
// the login). Authenticated like every table but kMeta. The server issue
// extends it (roles, tokens); the format byte lets it grow.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

struct UserRecord {
  std::string id;             // stable numeric-looking id ("1", "2", ...)
  std::string login;          // the key in kUsers
  std::string name;
  std::string email;
  std::string password_hash;  // crypto/password_hash.h encoding; never a password
  bool server_admin = false;
  std::int64_t created_micros = 0;
};

Bytes EncodeUserRecord(const UserRecord& user);
// DecodeUserRecord returns kIntegrityError for a malformed row.
StatusOr<UserRecord> DecodeUserRecord(ByteSpan bytes);

}  // namespace strongroom::storage

// accounts/accounts.h — users, role bindings and API tokens as stored records:
// the operations behind `strongroom user|token ...` and the admin API.
// Every change bumps the cache generation the server checks on the next
// request (SPEC section 5), so it takes effect at once while the server runs.
//
// accounts/ depends on base/, policies/ (bindings are checked against the
// policy), storage/ (the records) and crypto/ (password hashes). It knows
// nothing of HTTP: the admin routes (api/admin) and the CLI (appliance/)
// both call it.
//
// Thread-safety: functions; the Store serialises writes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "policies/policies.h"
#include "storage/binding_record.h"
#include "storage/storage.h"
#include "storage/token_record.h"
#include "storage/user_record.h"

namespace strongroom::accounts {

// kMinPasswordLength: shorter passwords are refused (kInvalidArgument).
inline constexpr std::size_t kMinPasswordLength = 12;
// kTokensValidAfterKey: kSystem key (u64 micros) before which every token
// is refused; written by `strongroom restore`.
inline constexpr std::string_view kTokensValidAfterKey = "api-tokens-valid-after";

struct NewUser {
  std::string login, name, email;
  const SecretBytes* password = nullptr;  // REQUIRES: non-null
  bool server_admin = false;
};

// ValidateLogin: 1..64 characters of [a-z0-9._@-], starting alphanumeric.
Status ValidateLogin(std::string_view login);

// Write tags: every function below that changes the store makes exactly one
// storage::Store::Write, tagged `tag`. The CLI keeps the defaults (recorded
// as system events named by the tag); the admin API passes the request's
// own unique tag (api/core/audit_scope.h ExpectAuditedWrite) so the audit log's
// pre-commit hook records the write as that request's record.

// CreateUser hashes the password (scrypt) and stores the user with the next
// numeric id. kAlreadyExists, kInvalidArgument (login, password length).
StatusOr<storage::UserRecord> CreateUser(storage::Store& store, const NewUser& user,
                                         const Clock& clock, std::string tag = "user:create");
// SetPassword replaces the user's password. kNotFound, kInvalidArgument.
Status SetPassword(storage::Store& store, std::string_view login, const SecretBytes& password,
                   std::string tag = "user:password");
// SetServerAdmin grants or removes server-admin rights. kNotFound;
// kFailedPrecondition when it would remove the last server admin.
// SECURITY: the appliance always keeps one server admin, so the admin API
// cannot lock every administrator out (checked inside the write).
Status SetServerAdmin(storage::Store& store, std::string_view login, bool server_admin,
                      std::string tag = "user:permissions");
// DeleteUser removes the user and its stored bindings and revokes its
// tokens at `clock`'s time, in one write (a later user of the same login
// inherits nothing). kNotFound; kFailedPrecondition for the last server
// admin (as SetServerAdmin).
Status DeleteUser(storage::Store& store, std::string_view login, const Clock& clock,
                  std::string tag = "user:delete");
StatusOr<storage::UserRecord> FindUser(const storage::ReadTxn& txn, std::string_view login);
// FindUserById scans the users (ids are few). kNotFound.
StatusOr<storage::UserRecord> FindUserById(const storage::ReadTxn& txn, std::string_view id);
StatusOr<std::vector<storage::UserRecord>> ListUsers(const storage::ReadTxn& txn);

// AddBinding stores a run-time binding after checking it against `policy`
// (role exists, namespace syntax, no Decrypter for users). Idempotent.
Status AddBinding(storage::Store& store, const policies::Policy& policy,
                  storage::BindingRecord binding, const Clock& clock);
// StoredBindings returns the stored bindings of one subject.
StatusOr<std::vector<policies::Binding>> StoredBindings(const storage::ReadTxn& txn,
                                                        const policies::Subject& subject);

struct NewToken {
  std::string owner_login, role, namespace_name, description;
  std::chrono::seconds ttl{0};  // 0: never expires
};
struct IssuedToken {
  storage::TokenRecord record;
  // The token string, shown once: "srt_<id>_<secret>". SECURITY: only its
  // SHA-256 is stored; never log it.
  SecretBytes token;
};
// CreateToken checks owner and role, draws a 256-bit secret and stores the
// token. kNotFound (owner), kInvalidArgument (role, namespace).
StatusOr<IssuedToken> CreateToken(storage::Store& store, const policies::Policy& policy,
                                  const NewToken& token, const Clock& clock);
// ListTokens lists tokens (all, or one owner's). Never includes secrets.
StatusOr<std::vector<storage::TokenRecord>> ListTokens(const storage::ReadTxn& txn,
                                                       std::optional<std::string> owner = {});
// RevokeToken marks a token revoked (kNotFound when unknown, or when
// `owner` is given and is not the token's owner).
Status RevokeToken(storage::Store& store, std::string_view id, const Clock& clock,
                   std::string tag = "token:revoke", std::optional<std::string> owner = {});
// RevokeTokensOf revokes every token of `owner`; returns how many.
StatusOr<std::size_t> RevokeTokensOf(storage::Store& store, std::string_view owner,
                                     const Clock& clock, std::string tag = "token:revoke-all");

// ParsedToken is a presented token split into id and secret.
struct ParsedToken {
  std::string id;
  std::string_view secret;
};
// ParseToken splits "srt_<16 hex id>_<64 hex secret>"; nullopt when malformed.
std::optional<ParsedToken> ParseToken(std::string_view presented);
// TokenSecretMatches compares SHA-256(secret) with the stored hash in constant time.
bool TokenSecretMatches(const storage::TokenRecord& record, std::string_view secret);

}  // namespace strongroom::accounts

#include "accounts/accounts.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "crypto/password_hash.h"

namespace strongroom::accounts {
namespace {

using storage::Table;

std::array<std::uint8_t, 32> Sha256(std::string_view text) {
  std::array<std::uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

StatusOr<std::string> RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  }
  std::string hex = HexEncode(random);
  OPENSSL_cleanse(random.data(), random.size());
  return hex;
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status CheckPassword(const SecretBytes& password) {
  if (password.size() < kMinPasswordLength) {
    return Status::InvalidArgument("password must have at least " +
                                   std::to_string(kMinPasswordLength) + " characters");
  }
  if (password.size() > 1024) return Status::InvalidArgument("password longer than 1024 bytes");
  return Status::Ok();
}

// UpdateUser applies `change` to the stored user inside one write.
Status UpdateUser(
    storage::Store& store, std::string_view login, std::string tag,
    const std::function<Status(const storage::WriteTxn&, storage::UserRecord&)>& change) {
  return ToStatus(store.Write(std::move(tag), [&](storage::WriteTxn& txn) -> Status {
    SR_ASSIGN_OR_RETURN(storage::Record raw, txn.Get(Table::kUsers, login));
    SR_ASSIGN_OR_RETURN(storage::UserRecord user, storage::DecodeUserRecord(raw.value));
    SR_RETURN_IF_ERROR(change(txn, user));
    SR_RETURN_IF_ERROR(ToStatus(txn.Put(Table::kUsers, login, storage::EncodeUserRecord(user))));
    txn.BumpGeneration(storage::CacheKind::kCredentials);
    txn.BumpGeneration(storage::CacheKind::kPolicy);
    return Status::Ok();
  }));
}

// KeepAServerAdmin refuses a change that leaves no server admin: `login`
// is about to lose the right (or be deleted).
Status KeepAServerAdmin(const storage::WriteTxn& txn, std::string_view login) {
  bool losing = false, another = false;
  Status decode = Status::Ok();
  SR_RETURN_IF_ERROR(
      txn.Scan(Table::kUsers, "", "", [&](std::string_view key, const storage::Record& r) {
        StatusOr<storage::UserRecord> user = storage::DecodeUserRecord(r.value);
        if (!user.has_value()) {
          decode = user.error();
          return false;
        }
        if (!user->server_admin) return true;
        (key == login ? losing : another) = true;
        return !another;
      }));
  SR_RETURN_IF_ERROR(decode);
  if (losing && !another) {
    return Status::FailedPrecondition("'" + std::string(login) +
                                      "' is the last server admin; make another user a server "
                                      "admin first");
  }
  return Status::Ok();
}

// RevokeOwnedTokens marks every live token of `owner` revoked at `now`
// inside `txn` and bumps the token cache generation.
Status RevokeOwnedTokens(storage::WriteTxn& txn, std::string_view owner, std::int64_t now,
                         std::size_t* revoked) {
  *revoked = 0;
  std::vector<storage::TokenRecord> tokens;
  SR_RETURN_IF_ERROR(
      txn.Scan(Table::kTokens, "", "", [&](std::string_view, const storage::Record& r) {
        StatusOr<storage::TokenRecord> t = storage::DecodeTokenRecord(r.value);
        if (t.has_value() && t->owner_login == owner && t->revoked_micros == 0)
          tokens.push_back(*t);
        return true;
      }));
  for (storage::TokenRecord& token : tokens) {
    token.revoked_micros = now;
    SR_RETURN_IF_ERROR(
        ToStatus(txn.Put(Table::kTokens, token.id, storage::EncodeTokenRecord(token))));
    ++*revoked;
  }
  txn.BumpGeneration(storage::CacheKind::kTokens);
  return Status::Ok();
}

}  // namespace

Status ValidateLogin(std::string_view login) {
  if (login.empty() || login.size() > 64) {
    return Status::InvalidArgument("login must have 1 to 64 characters");
  }
  if (!std::isalnum(static_cast<unsigned char>(login.front()))) {
    return Status::InvalidArgument("login must start with a letter or digit");
  }
  for (char c : login) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '@' || c == '-';
    if (!ok) return Status::InvalidArgument("login may only contain a-z 0-9 . _ @ -");
  }
  return Status::Ok();
}

StatusOr<storage::UserRecord> CreateUser(storage::Store& store, const NewUser& new_user,
                                         const Clock& clock, std::string tag) {
  SR_RETURN_IF_ERROR(ValidateLogin(new_user.login));
  SR_RETURN_IF_ERROR(CheckPassword(*new_user.password));
  storage::UserRecord user;
  user.login = new_user.login;
  user.name = new_user.name.empty() ? new_user.login : new_user.name;
  user.email = new_user.email;
  user.server_admin = new_user.server_admin;
  user.created_micros = UnixMicros(clock.Now());
  SR_ASSIGN_OR_RETURN(user.password_hash, crypto::HashPassword(*new_user.password));
  SR_RETURN_IF_ERROR(ToStatus(store.Write(std::move(tag), [&](storage::WriteTxn& txn) -> Status {
    if (txn.Get(Table::kUsers, user.login).has_value()) {
      return Status::AlreadyExists("user '" + user.login + "' already exists");
    }
    std::uint64_t max_id = 0;
    SR_RETURN_IF_ERROR(
        txn.Scan(Table::kUsers, "", "", [&](std::string_view, const storage::Record& r) {
          StatusOr<storage::UserRecord> other = storage::DecodeUserRecord(r.value);
          if (other.has_value())
            max_id = std::max<std::uint64_t>(max_id, std::strtoull(other->id.c_str(), nullptr, 10));
          return true;
        }));
    user.id = std::to_string(max_id + 1);
    SR_RETURN_IF_ERROR(
        ToStatus(txn.Put(Table::kUsers, user.login, storage::EncodeUserRecord(user))));
    txn.BumpGeneration(storage::CacheKind::kCredentials);
    return Status::Ok();
  })));
  return user;
}

Status SetPassword(storage::Store& store, std::string_view login, const SecretBytes& password,
                   std::string tag) {
  SR_RETURN_IF_ERROR(CheckPassword(password));
  SR_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password));
  return UpdateUser(store, login, std::move(tag),
                    [&](const storage::WriteTxn&, storage::UserRecord& user) {
                      user.password_hash = hash;
                      return Status::Ok();
                    });
}

Status SetServerAdmin(storage::Store& store, std::string_view login, bool server_admin,
                      std::string tag) {
  return UpdateUser(store, login, std::move(tag),
                    [&](const storage::WriteTxn& txn, storage::UserRecord& user) -> Status {
                      if (!server_admin) SR_RETURN_IF_ERROR(KeepAServerAdmin(txn, login));
                      user.server_admin = server_admin;
                      return Status::Ok();
                    });
}

Status DeleteUser(storage::Store& store, std::string_view login, const Clock& clock,
                  std::string tag) {
  return ToStatus(store.Write(std::move(tag), [&](storage::WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(KeepAServerAdmin(txn, login));
    SR_RETURN_IF_ERROR(txn.Delete(Table::kUsers, login));
    std::vector<std::string> bindings;
    SR_RETURN_IF_ERROR(txn.Scan(Table::kBindings, storage::BindingPrefix("user", login), "",
                                [&](std::string_view key, const storage::Record&) {
                                  bindings.emplace_back(key);
                                  return true;
                                }));
    for (const std::string& key : bindings) SR_RETURN_IF_ERROR(txn.Delete(Table::kBindings, key));
    // Revoke the user's tokens in the same write: a later user with the same
    // login must not inherit them.
    std::size_t revoked = 0;
    SR_RETURN_IF_ERROR(RevokeOwnedTokens(txn, login, UnixMicros(clock.Now()), &revoked));
    txn.BumpGeneration(storage::CacheKind::kCredentials);
    txn.BumpGeneration(storage::CacheKind::kTokens);
    txn.BumpGeneration(storage::CacheKind::kPolicy);
    return Status::Ok();
  }));
}

StatusOr<storage::UserRecord> FindUser(const storage::ReadTxn& txn, std::string_view login) {
  SR_ASSIGN_OR_RETURN(storage::Record raw, txn.Get(Table::kUsers, login));
  return storage::DecodeUserRecord(raw.value);
}

StatusOr<std::vector<storage::UserRecord>> ListUsers(const storage::ReadTxn& txn) {
  std::vector<storage::UserRecord> users;
  Status decode = Status::Ok();
  SR_RETURN_IF_ERROR(
      txn.Scan(Table::kUsers, "", "", [&](std::string_view, const storage::Record& r) {
        StatusOr<storage::UserRecord> user = storage::DecodeUserRecord(r.value);
        if (!user.has_value()) {
          decode = user.error();
          return false;
        }
        users.push_back(std::move(*user));
        return true;
      }));
  SR_RETURN_IF_ERROR(decode);
  return users;
}

StatusOr<storage::UserRecord> FindUserById(const storage::ReadTxn& txn, std::string_view id) {
  SR_ASSIGN_OR_RETURN(std::vector<storage::UserRecord> users, ListUsers(txn));
  for (auto& user : users) {
    if (user.id == id) return std::move(user);
  }
  return std::unexpected(Status::NotFound("user not found"));
}

Status AddBinding(storage::Store& store, const policies::Policy& policy,
                  storage::BindingRecord binding, const Clock& clock) {
  policies::Binding check;
  check.subject.kind = binding.subject_kind == "service" ? policies::SubjectKind::kService
                                                         : policies::SubjectKind::kUser;
  check.subject.name = binding.subject_name;
  check.role = binding.role;
  check.namespace_name = binding.namespace_name;
  check.source = "store";
  SR_RETURN_IF_ERROR(policy.ValidateBinding(check));
  binding.created_micros = UnixMicros(clock.Now());
  return ToStatus(store.Write("binding:add", [&](storage::WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(ToStatus(txn.Put(Table::kBindings, storage::BindingKey(binding),
                                        storage::EncodeBindingRecord(binding))));
    txn.BumpGeneration(storage::CacheKind::kPolicy);
    return Status::Ok();
  }));
}

StatusOr<std::vector<policies::Binding>> StoredBindings(const storage::ReadTxn& txn,
                                                        const policies::Subject& subject) {
  std::string_view kind = subject.kind == policies::SubjectKind::kService ? "service" : "user";
  std::vector<policies::Binding> bindings;
  Status decode = Status::Ok();
  SR_RETURN_IF_ERROR(txn.Scan(
      Table::kBindings, storage::BindingPrefix(kind, subject.name), "",
      [&](std::string_view, const storage::Record& r) {
        StatusOr<storage::BindingRecord> b = storage::DecodeBindingRecord(r.value);
        if (!b.has_value()) {
          decode = b.error();
          return false;
        }
        bindings.push_back(policies::Binding{subject, b->role, b->namespace_name, "store"});
        return true;
      }));
  SR_RETURN_IF_ERROR(decode);
  return bindings;
}

StatusOr<IssuedToken> CreateToken(storage::Store& store, const policies::Policy& policy,
                                  const NewToken& request, const Clock& clock) {
  if (policy.FindRole(request.role) == nullptr) {
    return std::unexpected(Status::InvalidArgument("unknown role '" + request.role + "'"));
  }
  policies::Binding check{{policies::SubjectKind::kUser, request.owner_login},
                          request.role,
                          request.namespace_name,
                          "token"};
  SR_RETURN_IF_ERROR(policy.ValidateBinding(check));
  storage::TokenRecord record;
  SR_ASSIGN_OR_RETURN(record.id, RandomHex(8));
  SR_ASSIGN_OR_RETURN(std::string secret, RandomHex(32));
  record.owner_login = request.owner_login;
  record.role = request.role;
  record.namespace_name = request.namespace_name;
  record.description = request.description;
  record.secret_sha256 = Sha256(secret);
  record.created_micros = UnixMicros(clock.Now());
  if (request.ttl.count() > 0) {
    record.expires_micros = record.created_micros + request.ttl.count() * 1'000'000;
  }
  std::string presented = "srt_" + record.id + "_" + secret;
  OPENSSL_cleanse(secret.data(), secret.size());
  StatusOr<SecretBytes> token = SecretBytes::CopyFrom(presented);
  OPENSSL_cleanse(presented.data(), presented.size());
  if (!token.has_value()) return std::unexpected(token.error());
  SR_RETURN_IF_ERROR(ToStatus(store.Write("token:create", [&](storage::WriteTxn& txn) -> Status {
    if (!txn.Get(Table::kUsers, record.owner_login).has_value()) {
      return Status::NotFound("user '" + record.owner_login + "' does not exist");
    }
    SR_RETURN_IF_ERROR(
        ToStatus(txn.Put(Table::kTokens, record.id, storage::EncodeTokenRecord(record))));
    txn.BumpGeneration(storage::CacheKind::kTokens);
    return Status::Ok();
  })));
  return IssuedToken{std::move(record), std::move(*token)};
}

StatusOr<std::vector<storage::TokenRecord>> ListTokens(const storage::ReadTxn& txn,
                                                       std::optional<std::string> owner) {
  std::vector<storage::TokenRecord> tokens;
  Status decode = Status::Ok();
  SR_RETURN_IF_ERROR(
      txn.Scan(Table::kTokens, "", "", [&](std::string_view, const storage::Record& r) {
        StatusOr<storage::TokenRecord> t = storage::DecodeTokenRecord(r.value);
        if (!t.has_value()) {
          decode = t.error();
          return false;
        }
        if (!owner || t->owner_login == *owner) tokens.push_back(std::move(*t));
        return true;
      }));
  SR_RETURN_IF_ERROR(decode);
  return tokens;
}

Status RevokeToken(storage::Store& store, std::string_view id, const Clock& clock, std::string tag,
                   std::optional<std::string> owner) {
  std::int64_t now = UnixMicros(clock.Now());
  return ToStatus(store.Write(std::move(tag), [&](storage::WriteTxn& txn) -> Status {
    StatusOr<storage::Record> raw = txn.Get(Table::kTokens, id);
    if (!raw.has_value()) {
      return raw.error().code() == StatusCode::kNotFound ? Status::NotFound("token not found")
                                                         : raw.error();
    }
    SR_ASSIGN_OR_RETURN(storage::TokenRecord token, storage::DecodeTokenRecord(raw->value));
    // Checked in the write, so another user's token id is refused as unknown.
    if (owner && token.owner_login != *owner) return Status::NotFound("token not found");
    if (token.revoked_micros == 0) token.revoked_micros = now;
    SR_RETURN_IF_ERROR(ToStatus(txn.Put(Table::kTokens, id, storage::EncodeTokenRecord(token))));
    txn.BumpGeneration(storage::CacheKind::kTokens);
    return Status::Ok();
  }));
}

StatusOr<std::size_t> RevokeTokensOf(storage::Store& store, std::string_view owner,
                                     const Clock& clock, std::string tag) {
  std::int64_t now = UnixMicros(clock.Now());
  std::size_t revoked = 0;
  SR_RETURN_IF_ERROR(ToStatus(store.Write(std::move(tag), [&](storage::WriteTxn& txn) {
    return RevokeOwnedTokens(txn, owner, now, &revoked);
  })));
  return revoked;
}

std::optional<ParsedToken> ParseToken(std::string_view presented) {
  // srt_ + 16 hex + _ + 64 hex
  if (presented.size() != 4 + 16 + 1 + 64 || presented.substr(0, 4) != "srt_" ||
      presented[20] != '_') {
    return std::nullopt;
  }
  std::string_view id = presented.substr(4, 16);
  std::string_view secret = presented.substr(21);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return std::nullopt;
  return ParsedToken{std::string(id), secret};
}

bool TokenSecretMatches(const storage::TokenRecord& record, std::string_view secret) {
  std::array<std::uint8_t, 32> digest = Sha256(secret);
  return CRYPTO_memcmp(digest.data(), record.secret_sha256.data(), digest.size()) == 0;
}

}  // namespace strongroom::accounts

// `strongroom user add|passwd|del|bind|list` and `strongroom token
// create|list|revoke`: account changes written through the store (the
// server, if running, sees them on its next request). Passwords come from
// an owner-only file or stdin, never from argv; a created token is printed
// once and only its hash is stored.
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "accounts/accounts.h"
#include "appliance/commands.h"
#include "crypto/pin_file.h"

namespace strongroom::appliance {
namespace {

StatusOr<std::shared_ptr<const policies::Policy>> LoadPolicy(const AccountFlags& account) {
  StatusOr<std::shared_ptr<const policies::Policy>> policy =
      policies::Policy::LoadDirectory(account.policy_dir);
  if (policy.has_value()) return policy;
  if (policy.error().code() == StatusCode::kNotFound) return policies::Policy::BuiltIn();
  return std::unexpected(policy.error());
}

// ReadPassword reads the password from an owner-only file, or one line of
// stdin.
StatusOr<SecretBytes> ReadPassword(const AccountFlags& account) {
  if (!account.password_file.empty()) return crypto::ReadPinFile(account.password_file);
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "password: ");
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  StatusOr<SecretBytes> password = SecretBytes::CopyFrom(line);
  OPENSSL_cleanse(line.data(), line.size());
  return password;
}

StatusOr<std::chrono::seconds> ParseTtl(const std::string& text) {
  if (text.empty()) return std::chrono::seconds(0);
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  std::string unit(end);
  long long scale = unit.empty() || unit == "s" ? 1
                    : unit == "m"               ? 60
                    : unit == "h"               ? 3600
                    : unit == "d"               ? 86400
                                                : -1;
  if (end == text.c_str() || value <= 0 || scale < 0) {
    return std::unexpected(Status::InvalidArgument("--ttl must look like 3600, 90m, 12h or 30d"));
  }
  return std::chrono::seconds(value * scale);
}

std::string Time(std::int64_t micros) {
  if (micros == 0) return "-";
  return Rfc3339Micros(TimePoint(std::chrono::microseconds(micros)));
}

// BindingName names a binding in audit records: "<login>:<role>".
std::string BindingName(const AccountFlags& account) { return account.login + ":" + account.role; }

}  // namespace

Status RunUserAdd(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const policies::Policy> policy, LoadPolicy(account));
  if (!account.role.empty()) {
    policies::Binding check{
        {policies::SubjectKind::kUser, account.login}, account.role, account.namespace_name, "cli"};
    SR_RETURN_IF_ERROR(policy->ValidateBinding(check));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes password, ReadPassword(account));
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  accounts::NewUser user{account.login, account.name, account.email, &password,
                         account.server_admin};
  ExpectCliWrite(env, "user:create", {"", "users", account.login});
  SR_ASSIGN_OR_RETURN(storage::UserRecord created,
                      accounts::CreateUser(*env.store, user, *Clock::Real()));
  std::cout << "created user " << created.login << " (id " << created.id << ")"
            << (created.server_admin ? ", server admin" : "") << "\n";
  if (!account.role.empty()) {
    ExpectCliWrite(env, "binding:add", {account.namespace_name, "bindings", BindingName(account)});
    SR_RETURN_IF_ERROR(accounts::AddBinding(
        *env.store, *policy, {"user", account.login, account.role, account.namespace_name, 0},
        *Clock::Real()));
    std::cout << "bound " << account.login << " to " << account.role << " in namespace "
              << account.namespace_name << "\n";
  }
  return Status::Ok();
}

Status RunUserBind(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const policies::Policy> policy, LoadPolicy(account));
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, env.store->BeginRead());
  SR_RETURN_IF_ERROR(ToStatus(accounts::FindUser(txn, account.login)));
  ExpectCliWrite(env, "binding:add", {account.namespace_name, "bindings", BindingName(account)});
  SR_RETURN_IF_ERROR(accounts::AddBinding(
      *env.store, *policy, {"user", account.login, account.role, account.namespace_name, 0},
      *Clock::Real()));
  std::cout << "bound " << account.login << " to " << account.role << " in namespace "
            << account.namespace_name << "\n";
  return Status::Ok();
}

Status RunUserPasswd(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(SecretBytes password, ReadPassword(account));
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  ExpectCliWrite(env, "user:password", {"", "users", account.login});
  SR_RETURN_IF_ERROR(accounts::SetPassword(*env.store, account.login, password));
  std::cout << "password changed for " << account.login << "\n";
  return Status::Ok();
}

Status RunUserDel(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  ExpectCliWrite(env, "user:delete", {"", "users", account.login});
  SR_RETURN_IF_ERROR(accounts::DeleteUser(*env.store, account.login, *Clock::Real()));
  std::cout << "deleted user " << account.login << "\n";
  return Status::Ok();
}

Status RunUserList(const CommonFlags& flags) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, env.store->BeginRead());
  SR_ASSIGN_OR_RETURN(std::vector<storage::UserRecord> users, accounts::ListUsers(txn));
  std::printf("%-6s %-24s %-12s %s\n", "ID", "LOGIN", "ADMIN", "CREATED");
  for (const auto& u : users) {
    std::printf("%-6s %-24s %-12s %s\n", u.id.c_str(), u.login.c_str(),
                u.server_admin ? "yes" : "no", Time(u.created_micros).c_str());
  }
  return Status::Ok();
}

Status RunTokenCreate(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const policies::Policy> policy, LoadPolicy(account));
  SR_ASSIGN_OR_RETURN(std::chrono::seconds ttl, ParseTtl(account.ttl));
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  accounts::NewToken request{account.login, account.role, account.namespace_name,
                             account.description, ttl};
  ExpectCliWrite(env, "token:create", {account.namespace_name, "tokens", account.login});
  SR_ASSIGN_OR_RETURN(accounts::IssuedToken issued,
                      accounts::CreateToken(*env.store, *policy, request, *Clock::Real()));
  std::fprintf(stderr, "token %s for %s: role %s in namespace %s, expires %s (shown once)\n",
               issued.record.id.c_str(), issued.record.owner_login.c_str(),
               issued.record.role.c_str(), issued.record.namespace_name.c_str(),
               Time(issued.record.expires_micros).c_str());
  std::string_view token = issued.token.RevealSecretAsString();
  std::fwrite(token.data(), 1, token.size(), stdout);
  std::fputc('\n', stdout);
  return Status::Ok();
}

Status RunTokenList(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, env.store->BeginRead());
  std::optional<std::string> owner;
  if (!account.login.empty()) owner = account.login;
  SR_ASSIGN_OR_RETURN(std::vector<storage::TokenRecord> tokens, accounts::ListTokens(txn, owner));
  std::printf("%-16s %-16s %-12s %-16s %-28s %s\n", "ID", "OWNER", "ROLE", "NAMESPACE", "EXPIRES",
              "REVOKED");
  for (const auto& t : tokens) {
    std::printf("%-16s %-16s %-12s %-16s %-28s %s\n", t.id.c_str(), t.owner_login.c_str(),
                t.role.c_str(), t.namespace_name.c_str(), Time(t.expires_micros).c_str(),
                Time(t.revoked_micros).c_str());
  }
  return Status::Ok();
}

Status RunTokenRevoke(const CommonFlags& flags, const AccountFlags& account) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, false, true));
  ExpectCliWrite(env, "token:revoke", {"", "tokens", account.token_id});
  SR_RETURN_IF_ERROR(accounts::RevokeToken(*env.store, account.token_id, *Clock::Real()));
  std::cout << "revoked token " << account.token_id << "\n";
  return Status::Ok();
}

}  // namespace strongroom::appliance

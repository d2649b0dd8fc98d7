// `strongroom init`: token keys, store, bootstrap admin. Idempotent.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "appliance/commands.h"
#include "appliance/environment.h"
#include "crypto/crypto.h"
#include "storage/user_record.h"

namespace strongroom::appliance {
namespace {

constexpr std::string_view kAdminLogin = "admin";

// GeneratePassword returns 24 characters of base64url from 18 random bytes.
StatusOr<SecretBytes> GeneratePassword() {
  SR_ASSIGN_OR_RETURN(SecretBytes random, SecretBytes::Allocate(18));
  if (RAND_bytes(random.RevealMutableSecret().data(), 18) != 1) {
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes out, SecretBytes::Allocate(25));
  EVP_EncodeBlock(out.RevealMutableSecret().data(), random.RevealSecret().data(), 18);
  out.Truncate(24);
  for (std::uint8_t& c : out.RevealMutableSecret()) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

// EnsureAdmin creates the bootstrap server admin unless a user "admin"
// exists. Returns whether it created it; `printed_password` receives a
// generated password (empty when read from a file).
StatusOr<bool> EnsureAdmin(storage::Store& store, const std::string& password_file,
                           SecretBytes* generated) {
  {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
    StatusOr<storage::Record> existing = txn.Get(storage::Table::kUsers, kAdminLogin);
    if (existing.has_value()) return false;
    if (existing.error().code() != StatusCode::kNotFound) return std::unexpected(existing.error());
  }
  SecretBytes password;
  if (!password_file.empty()) {
    SR_ASSIGN_OR_RETURN(password, crypto::ReadPinFile(password_file));
    if (password.size() < 12) {
      return std::unexpected(Status::InvalidArgument("the admin password must have at least 12 characters"));
    }
  } else {
    SR_ASSIGN_OR_RETURN(password, GeneratePassword());
    SR_ASSIGN_OR_RETURN(*generated, password.Clone());
  }
  SR_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password));
  storage::UserRecord admin;
  admin.id = "1";
  admin.login = std::string(kAdminLogin);
  admin.name = "Server administrator";
  admin.password_hash = std::move(hash);
  admin.server_admin = true;
  admin.created_micros = UnixMicros(Clock::Real()->Now());
  bool created = false;
  SR_RETURN_IF_ERROR(store.Write("init:admin", [&](storage::WriteTxn& txn) -> Status {
    created = false;  // a write function may run again (replicated re-staging)
    StatusOr<storage::Record> existing = txn.Get(storage::Table::kUsers, kAdminLogin);
    if (existing.has_value()) return Status::Ok();
    SR_RETURN_IF_ERROR(txn.Put(storage::Table::kUsers, kAdminLogin, storage::EncodeUserRecord(admin)));
    txn.BumpGeneration(storage::CacheKind::kCredentials);
    created = true;
    return Status::Ok();
  }));
  return created;
}

}  // namespace

Status RunInit(const CommonFlags& flags, const std::string& admin_password_file) {
  // A store this command creates has nothing to check against the token's
  // anchor, and its first anchor replaces one a reused token may hold. An
  // existing store is checked as every command checks it.
  std::error_code ec;
  const bool new_store = !std::filesystem::exists(flags.data_dir + "/store/data.mdb", ec);
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/true,
                                                       /*with_keyring=*/false));
  SR_ASSIGN_OR_RETURN(crypto::InitReport report, crypto::Keyring::Initialize(*env.token, *env.store));
  SR_ASSIGN_OR_RETURN(crypto::AuditPublicKey audit_key, env.token->GetAuditPublicKey());
  // From here on every change is audited; a new log's first record carries
  // the audit key's fingerprint.
  SR_RETURN_IF_ERROR(OpenAuditLog(
      flags, env, "cli", new_store ? audit::AnchorMode::kNewStore : audit::AnchorMode::kRequire));
  SecretBytes generated;
  SR_ASSIGN_OR_RETURN(bool created_admin, EnsureAdmin(*env.store, admin_password_file, &generated));
  SR_RETURN_IF_ERROR(AuditCliEvent(
      env, "appliance.init", {"", "appliance", ""},
      {{"kek_id", report.kek_id},
       {"created_kek", report.created_kek ? "true" : "false"},
       {"created_audit_key", report.created_audit_key ? "true" : "false"},
       {"created_admin", created_admin ? "true" : "false"},
       {"key_sha256", audit_key.fingerprint_sha256}}));

  auto said = [](bool created) { return created ? "created" : "exists, unchanged"; };
  std::cout << "data directory:      " << flags.data_dir << "\n"
            << "token:               " << env.token->token_label() << "\n"
            << "KEK " << report.kek_id << ": " << said(report.created_kek) << "\n"
            << "record-MAC key:      " << said(report.created_mac_key) << "\n"
            << "audit signing key:   " << said(report.created_audit_key) << "\n"
            << "audit key SHA-256 fingerprint: " << audit_key.fingerprint_sha256 << "\n"
            << "  (give this fingerprint to your auditors out of band; they pin it)\n"
            << "admin user:          " << said(created_admin) << "\n";
  if (created_admin && !generated.empty()) {
    // Shown once, on stdout only; never logged.
    std::cout << "admin password (shown once, store it now): " << generated.RevealSecretAsString()
              << "\n";
  }
  if (!report.created_kek && !report.created_mac_key && !report.created_audit_key && !created_admin) {
    std::cout << "already initialised: nothing changed\n";
  }
  return Status::Ok();
}

}  // namespace strongroom::appliance

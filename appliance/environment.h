// appliance/environment.h — what every command opens, in order: process
// hardening, the secure arena, the data directory, the token, the store and
// the keyring. Private to appliance/.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "audit/audit.h"
#include "base/status.h"
#include "crypto/keyring.h"
#include "crypto/token_service.h"
#include "storage/storage.h"

namespace strongroom::appliance {

// Flags shared by the commands that touch the token and the store.
struct CommonFlags {
  std::string data_dir = "/var/lib/strongroom";
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_uri = "pkcs11:token=strongroom";
  std::string pin_file;
  // "unix:/path": the token is reached through `strongroom tokend` on that
  // socket (tokend/tokend.h); module, token_uri and pin_file are then
  // unused. Empty (the default): the token is opened in this process.
  std::string token_service;
  std::size_t arena_mib = 4;
  bool allow_unlocked_memory = false;
  // [store] map_size_mib: the LMDB map size (default 1024, the store's
  // own default, StoreOptions::map_size_bytes).
  std::uint64_t map_size_mib = storage::StoreOptions{}.map_size_bytes >> 20;
  // [audit] in the server's configuration (docs/strongroom.example.toml).
  struct Audit {
    std::uint64_t max_file_mib = 64;
    std::uint64_t free_space_watermark_mib = 256;
    bool group_commit = true;
    std::string test_full_disk_trigger;  // tests only: ENOSPC while this file exists
  } audit;
  // The node name every audit record carries (issue 18; audit_log.h,
  // AuditLogOptions::node_name). The server sets it from `[cluster]
  // node_name` ("" without one); the CLI leaves it unset and continues with
  // the name the log already has.
  std::optional<std::string> node_name;
};

// HardenProcess disables core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) and
// ignores SIGPIPE.
void HardenProcess();

// InstallArena creates the process secure arena from the flags; refuses
// when memory cannot be locked unless --allow-unlocked-memory (then warns).
Status InstallArena(const CommonFlags& flags);

// CheckDataDirOwner refuses when the data directory exists and is owned by
// another user than the effective one (SPEC section 4).
Status CheckDataDirOwner(const std::string& data_dir);

struct Environment {
  std::unique_ptr<crypto::TokenService> token;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<crypto::Keyring> keyring;  // null for OpenForInit
  // Declared last, so it closes first (its final checkpoint needs the
  // token and the store). Null until OpenAuditLog. For the server, the
  // store's foreign-write check calls it: clear that check
  // (SetForeignWriteCheck(nullptr)) before closing it.
  std::unique_ptr<audit::AuditLog> audit;
};

// OpenAuditLog opens `<data_dir>/audit` for this process, attaches it to
// env.store (every store write is then audited) and sets env.audit.
// `actor_name` names this process in the records it writes ("server",
// "cli"). `anchor_mode` says how the log and the store are checked
// against the token's trust anchor (audit_log.h); kRestore also turns off
// the check against the last checkpoint. Warnings go to stderr.
// REQUIRES: env.token holds the audit key pair (after init).
Status OpenAuditLog(const CommonFlags& flags, Environment& env, const std::string& actor_name,
                    audit::AnchorMode anchor_mode = audit::AnchorMode::kRequire);

// DeferStartupVerification sets `options` up for the server's deferred
// start-up verification (audit_log.h, AuditLogOptions::defer_verification):
// the store's full integrity check (Store::CheckIntegrityNow, which arms
// the tag index) runs beside the log's, and the outcome is logged.
// REQUIRES: `store` outlives the log.
void DeferStartupVerification(storage::Store& store, audit::AuditLogOptions& options);

// MigrateStore carries env.store forward to storage::kSchemaVersion when it
// is older (Store::MigrateSchema), as one write audited as `store.migrate`
// with the versions before and after, and says so on stderr. Nothing when
// the store is current. A CLI (`actor_name` other than "server") refuses
// with kFailedPrecondition when a server runs on the store. OpenAuditLog
// calls it last, so every command that opens the log migrates.
Status MigrateStore(Environment& env, const std::string& actor_name);

// ExpectCliWrite describes the CLI's next store write tagged `tag` (the
// tags of accounts/accounts.cc: "user:create", "user:password", ...), so its
// audit record names the resource; the record's action is the tag.
void ExpectCliWrite(Environment& env, const std::string& tag, audit::Resource resource);

// AuditCliEvent records one CLI operation (actor: the CLI and its OS
// user) and waits until it is durable.
Status AuditCliEvent(Environment& env, std::string action, audit::Resource resource,
                     std::vector<std::pair<std::string, std::string>> details = {});

// OpenToken opens the token named by the flags: through tokend when
// token_service is set, else in this process.
StatusOr<std::unique_ptr<crypto::TokenService>> OpenToken(const CommonFlags& flags);

// OpenEnvironment opens token, store (create_if_missing as given) and, when
// `with_keyring`, the keyring (which needs an initialised store) and the
// audit log (OpenAuditLog, as "cli"; the server reopens it as itself). The
// server passes hold_server_lock so the CLI can tell it runs (storage.h).
StatusOr<Environment> OpenEnvironment(
    const CommonFlags& flags, bool create_if_missing, bool with_keyring,
    bool hold_server_lock = false, audit::AnchorMode anchor_mode = audit::AnchorMode::kRequire);

}  // namespace strongroom::appliance

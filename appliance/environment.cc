#include "appliance/environment.h"

#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "api/core/log.h"
#include "base/secure_arena.h"
#include "tokend/tokend.h"

namespace strongroom::appliance {

void HardenProcess() {
  rlimit no_core{0, 0};
  (void)setrlimit(RLIMIT_CORE, &no_core);
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  (void)signal(SIGPIPE, SIG_IGN);
}

Status InstallArena(const CommonFlags& flags) {
  SecureArenaOptions options;
  options.size_bytes = flags.arena_mib << 20;
  options.allow_unlocked = flags.allow_unlocked_memory;
  SR_RETURN_IF_ERROR(SecureArena::InstallProcessArena(options));
  if (!SecureArena::Process()->locked()) {
    std::fprintf(stderr,
                 "warning: secure memory is NOT locked (--allow-unlocked-memory); secrets may be "
                 "swapped to disk\n");
  }
  return Status::Ok();
}

Status CheckDataDirOwner(const std::string& data_dir) {
  struct stat st{};
  if (::stat(data_dir.c_str(), &st) != 0) return Status::Ok();  // created later, by us
  if (st.st_uid != ::geteuid()) {
    return Status::PermissionDenied("the data directory " + data_dir + " is owned by uid " +
                                    std::to_string(st.st_uid) +
                                    "; run strongroom as that user (current uid " +
                                    std::to_string(::geteuid()) + ")");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<crypto::TokenService>> OpenToken(const CommonFlags& flags) {
  if (!flags.token_service.empty()) {
    SR_ASSIGN_OR_RETURN(std::string socket, tokend::ParseServiceAddress(flags.token_service));
    return tokend::ConnectTokenService({.socket_path = socket});
  }
  crypto::TokenOptions options;
  options.module = flags.module;
  options.token_uri = flags.token_uri;
  options.pin_file = flags.pin_file;
  // A token that stays away is retried at most four times a second, not on
  // every failing call (docs/faults.md).
  options.recovery_backoff = std::chrono::milliseconds(250);
  SR_ASSIGN_OR_RETURN(std::unique_ptr<crypto::Token> token, crypto::Token::Open(options));
  return std::unique_ptr<crypto::TokenService>(
      std::make_unique<crypto::LocalTokenService>(std::move(token)));
}

StatusOr<Environment> OpenEnvironment(const CommonFlags& flags, bool create_if_missing,
                                      bool with_keyring, bool hold_server_lock,
                                      audit::AnchorMode anchor_mode) {
  SR_RETURN_IF_ERROR(CheckDataDirOwner(flags.data_dir));
  Environment env;
  SR_ASSIGN_OR_RETURN(env.token, OpenToken(flags));
  storage::StoreOptions store_options;
  store_options.data_dir = flags.data_dir;
  store_options.create_if_missing = create_if_missing;
  if (flags.map_size_mib != 0) store_options.map_size_bytes = std::size_t{flags.map_size_mib} << 20;
  store_options.hold_server_lock = hold_server_lock;
  // The server keeps every record's tag in memory and refuses a record
  // changed under it that no verified audit record explains (issue 16).
  store_options.tag_index = hold_server_lock;
  SR_ASSIGN_OR_RETURN(env.store, storage::Store::Open(store_options));
  if (with_keyring) {
    crypto::KeyringOptions keyring_options;
    // The server verifies the whole store after it opens, in parallel with
    // the rest of its start-up verification, and signs nothing until that
    // has passed (OpenAuditLog); the CLI verifies it here.
    keyring_options.verify_store_at_open = !hold_server_lock;
    SR_ASSIGN_OR_RETURN(env.keyring,
                        crypto::Keyring::Open(*env.token, *env.store, keyring_options));
    SR_RETURN_IF_ERROR(OpenAuditLog(flags, env, hold_server_lock ? "server" : "cli", anchor_mode));
    if (hold_server_lock) {
      // A change another process (the CLI) committed is accepted only when
      // the audit log has adopted its verified, sealed record.
      audit::AuditLog* log = env.audit.get();
      env.store->SetForeignWriteCheck([log] { return log->AdoptNow(); });
    }
  }
  return env;
}

namespace {

std::string OsUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? std::string(pw->pw_name) : "uid " + std::to_string(::geteuid());
}

audit::Actor ProcessActor(const std::string& actor_name) {
  if (actor_name == "server") return audit::Actor{"system", "strongroom server", "", "", ""};
  return audit::Actor{"system", actor_name + " (" + OsUser() + ")", "", "", "local"};
}

}  // namespace

void DeferStartupVerification(storage::Store& store, audit::AuditLogOptions& options) {
  // Ready in a bounded time with any size of log and store (issue 19): the
  // log's lines before the anchored checkpoint and the store's full re-MAC
  // (which also arms the tag index) are checked after Open, in parallel;
  // nothing is signed or anchored until both have passed, and a failure
  // fails closed (not ready, audited requests refused).
  options.defer_verification = true;
  storage::Store* checked = &store;
  options.deferred_checks.push_back([checked] { return checked->CheckIntegrityNow(); });
  const auto started = std::chrono::steady_clock::now();
  options.on_verified = [started](const Status& outcome) {
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (outcome.ok()) {
      api::LogEvent(api::LogLevel::kInfo, "start-up verification passed",
                    {{"took_ms", std::to_string(took.count())}});
      return;
    }
    // The same words a refused start prints, as an error line: the server
    // keeps running, not ready, so the operator can read /metrics.
    api::LogEvent(api::LogLevel::kError, "start-up verification failed",
                  {{"detail", outcome.ToString()}});
  };
}

Status OpenAuditLog(const CommonFlags& flags, Environment& env, const std::string& actor_name,
                    audit::AnchorMode anchor_mode) {
  SR_ASSIGN_OR_RETURN(crypto::AuditPublicKey key, env.token->GetAuditPublicKey());
  crypto::TokenService* token = env.token.get();
  auto signer = audit::NewCheckpointSigner(
      key.pem, key.fingerprint_sha256,
      [token](ByteSpan message) { return token->SignWithAuditKey(message); });
  audit::AuditLogOptions options;
  options.dir = flags.data_dir + "/audit";
  options.max_file_bytes = flags.audit.max_file_mib << 20;
  options.free_space_watermark_bytes = flags.audit.free_space_watermark_mib << 20;
  options.group_commit = flags.audit.group_commit;
  options.process_actor = ProcessActor(actor_name);
  options.check_rollback = anchor_mode != audit::AnchorMode::kRestore;
  // The server names its node from its configuration; the CLI continues
  // the log as it finds it (one log, one node name: audit/record.h).
  if (flags.node_name) {
    options.node_name = *flags.node_name;
  } else {
    SR_ASSIGN_OR_RETURN(options.node_name, audit::NodeNameOfLog(options.dir));
  }
  options.anchor = audit::NewTokenAnchorKeeper(*env.token, options.node_name);
  options.anchor_mode = anchor_mode;
  // The CLI writes while the server may run: it seals each of its groups,
  // so the server can verify and adopt them (audit_log.h).
  options.seal_every_group = actor_name != "server";
  // Only the server (the store's one long-lived writer) cancels records
  // whose change is missing: a CLI could race a commit still under way.
  options.cancel_uncommitted_at_open = actor_name == "server";
  options.warn = [](const std::string& message) {
    std::fprintf(stderr, "strongroom: warning: %s\n", message.c_str());
  };
  if (actor_name == "server") DeferStartupVerification(*env.store, options);
  std::unique_ptr<audit::AuditSink> sink;
  if (!flags.audit.test_full_disk_trigger.empty()) {
    sink = audit::NewTriggeredFullDiskSink(flags.audit.test_full_disk_trigger);
  }
  SR_ASSIGN_OR_RETURN(env.audit,
                      audit::AuditLog::Open(std::move(options), std::move(signer),
                                            audit::StoreStateOf(*env.store), std::move(sink),
                                            *Clock::Real()));
  env.audit->AttachTo(*env.store);
  return MigrateStore(env, actor_name);
}

Status MigrateStore(Environment& env, const std::string& actor_name) {
  const std::uint32_t from = env.store->schema_version();
  if (from >= storage::kSchemaVersion) return Status::Ok();
  if (actor_name != "server") {
    // SECURITY: a store is migrated by one process only: never under a
    // running server, which may be an older binary that reads the store as
    // it was.
    SR_ASSIGN_OR_RETURN(bool running, storage::Store::ServerRunning(env.store->data_dir()));
    if (running) {
      return Status::FailedPrecondition(
          "the store has schema version " + std::to_string(from) + " and this strongroom needs " +
          std::to_string(storage::kSchemaVersion) +
          ", but a server is running on it: stop it and start this version's server, which "
          "migrates the store");
    }
  }
  audit::Event event;
  event.action = "store.migrate";
  event.actor = ProcessActor(actor_name);
  event.resource = {"", "store", ""};
  event.reason = "ok";
  event.details = {{"from_schema_version", std::to_string(from)},
                   {"to_schema_version", std::to_string(storage::kSchemaVersion)}};
  // The migration is one store write: its record is durable before it
  // commits, and a `not-committed` record follows if it does not.
  std::shared_ptr<audit::PendingWrite> pending = env.audit->ExpectWrite("store.migrate", event);
  StatusOr<std::optional<storage::SchemaMigration>> migrated =
      env.store->MigrateSchema("store.migrate");
  if (!migrated.has_value()) {
    (void)env.audit->Forget(pending);
    return migrated.error().WithContext("migrating the store from schema version " +
                                        std::to_string(from));
  }
  if (migrated->has_value()) {
    std::fprintf(stderr, "strongroom: migrated the store from schema version %u to %u\n",
                 (*migrated)->from_version, (*migrated)->to_version);
  } else {
    (void)env.audit->Forget(pending);
  }
  return Status::Ok();
}

namespace {

audit::Event CliEvent(std::string action, audit::Resource resource) {
  audit::Event event;
  event.action = std::move(action);
  event.actor = ProcessActor("cli");
  event.resource = std::move(resource);
  event.reason = "ok";
  return event;
}

}  // namespace

void ExpectCliWrite(Environment& env, const std::string& tag, audit::Resource resource) {
  (void)env.audit->ExpectWrite(tag, CliEvent(tag, std::move(resource)));
}

Status AuditCliEvent(Environment& env, std::string action, audit::Resource resource,
                     std::vector<std::pair<std::string, std::string>> details) {
  audit::Event event = CliEvent(std::move(action), std::move(resource));
  event.details = std::move(details);
  return env.audit->Record(std::move(event));
}

}  // namespace strongroom::appliance

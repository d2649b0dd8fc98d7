// `strongroom serve`: loads the configuration, opens the token, store and
// keyring (holding the server lock), starts the API, and runs until SIGTERM
// or SIGINT (graceful: in-flight requests finish, the store closes
// cleanly). SIGHUP reloads the policy files and the client CA's CRL.
// Under systemd (Type=notify, debian/strongroom.service) it reports
// READY=1 once /readyz would answer, RELOADING=1/READY=1 around a reload
// and STOPPING=1 at shutdown; without NOTIFY_SOCKET these do nothing.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "api/api.h"
#include "api/core/log.h"
#include "appliance/commands.h"
#include "appliance/server_config.h"
#include "base/secure_arena.h"

namespace strongroom::appliance {
namespace {

Status WritePortFile(const std::string& path, std::uint16_t port) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out) return Status::Internal("cannot write port file " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot rename port file to " + path);
  }
  return Status::Ok();
}

// RaiseFileLimit lifts the soft descriptor limit to the hard one: every
// open connection costs one.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// RecordServerEvent writes a server lifecycle record and waits for it.
Status RecordServerEvent(audit::AuditLog& log, std::string action, const std::string& listen) {
  audit::Event event;
  event.action = std::move(action);
  event.actor = audit::Actor{"system", "strongroom server", "", "", ""};
  event.reason = "ok";
  event.details = {{"listen", listen}, {"key_sha256", log.key_sha256()}};
  return log.Record(std::move(event));
}

}  // namespace

StatusOr<ServerConfig> ResolveServeConfig(const ServeFlags& flags) {
  SR_ASSIGN_OR_RETURN(ServerConfig config, LoadServerConfig(flags.config_path));
  if (!flags.listen.empty()) config.listen = flags.listen;
  if (!flags.port_file.empty()) config.port_file = flags.port_file;
  if (!flags.policy_dir.empty()) config.policy_dir = flags.policy_dir;
  if (!flags.data_dir.empty()) config.common.data_dir = flags.data_dir;
  if (!flags.module.empty()) config.common.module = flags.module;
  if (!flags.token_uri.empty()) config.common.token_uri = flags.token_uri;
  if (!flags.pin_file.empty()) config.common.pin_file = flags.pin_file;
  if (!flags.token_service.empty()) config.common.token_service = flags.token_service;
  if (flags.allow_unlocked_memory) config.common.allow_unlocked_memory = true;
  // SECURITY: a [cluster] section that names etcd is refused until the
  // replicated store is wired (issue 18), so nobody runs single-node while
  // believing the node replicates. node_name alone names this node's audit
  // log; without it the log must be unnamed (audit_log.h).
  SR_RETURN_IF_ERROR(RefuseReplicatedMode(config.cluster));
  config.common.node_name = config.cluster.node_name;
  std::string host;
  std::uint16_t port = 0;
  if (Status s = SplitListen(config.listen, &host, &port); !s.ok()) {
    return std::unexpected(Status::InvalidArgument("--listen: " + s.message()));
  }
  return config;
}

Status RunServe(const ServeFlags& flags) {
  SR_ASSIGN_OR_RETURN(ServerConfig config, ResolveServeConfig(flags));
  // Signals are taken by sigwait below: block them before any thread starts
  // so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  RaiseFileLimit();
  SR_RETURN_IF_ERROR(InstallArena(config.common));
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(config.common, /*create_if_missing=*/false,
                                                       /*with_keyring=*/true,
                                                       /*hold_server_lock=*/true));
  api::ApiOptions options;
  SR_RETURN_IF_ERROR(SplitListen(config.listen, &options.server.host, &options.server.port));
  options.server.limits = config.limits;
  options.tls = config.tls;
  options.policy_dir = config.policy_dir;
  options.authentication = config.authentication;
  options.max_bulk_secrets = config.max_bulk_secrets;
  options.metrics = config.metrics;
  options.browser_sessions = config.browser_sessions;
  options.memory_locked = SecureArena::Process()->locked();
  options.settings_json = EffectiveSettingsJson(config);
  SR_ASSIGN_OR_RETURN(std::unique_ptr<api::ApiServer> server,
                      api::ApiServer::Start(options, *env.token, *env.audit, *env.store,
                                            *env.keyring, *Clock::Real()));
  const std::string listen = options.server.host + ":" + std::to_string(server->port());
  SR_RETURN_IF_ERROR(env.store->StartIntegrityWatch(
      std::chrono::seconds(config.integrity_check_seconds), [](const Status& result) {
        if (!result.ok()) {
          api::LogEvent(api::LogLevel::kError, "store integrity check failed",
                        {{"detail", result.message()}});
        }
      }));
  if (Status started = RecordServerEvent(*env.audit, "server.start", listen); !started.ok()) {
    // SECURITY: a start-up verification that failed after Open (issue 19)
    // leaves the server up but not ready: every audited request is refused
    // and nothing is signed; the failure was logged. Any other failure to
    // audit the start refuses it, as before.
    if (env.audit->stats().startup_verification != audit::StartupVerification::kFailed) {
      return started;
    }
  }
  if (!config.port_file.empty())
    SR_RETURN_IF_ERROR(WritePortFile(config.port_file, server->port()));
  api::LogEvent(api::LogLevel::kInfo, "serving",
                {{"listen", listen},
                 {"data_dir", config.common.data_dir},
                 {"policy_dir", config.policy_dir},
                 {"memory", options.memory_locked ? "locked" : "unlocked"}});
  // Everything /readyz checks (token, store, audit log, listening socket)
  // is open and the start is audited: tell the service manager.
  (void)sd_notifyf(0, "READY=1\nSTATUS=serving on %s", listen.c_str());
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      (void)sd_notify(0, "RELOADING=1");
      (void)server->ReloadPolicy();
      // A CRL replaced on disk takes effect for new handshakes (issue 16).
      (void)server->ReloadCrl();
      (void)sd_notifyf(0, "READY=1\nSTATUS=serving on %s", listen.c_str());
      continue;
    }
    (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    api::LogEvent(api::LogLevel::kInfo, "shutting down",
                  {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  server->Shutdown();
  server.reset();
  // The store's foreign-write check calls the audit log, which closes next.
  env.store->SetForeignWriteCheck(nullptr);
  (void)RecordServerEvent(*env.audit, "server.stop", listen);
  // The final checkpoint seals the log while token and store are open.
  if (Status closed = env.audit->Close(); !closed.ok()) {
    api::LogEvent(api::LogLevel::kError, "audit log not closed cleanly",
                  {{"detail", closed.message()}});
  }
  env.audit.reset();
  env.keyring.reset();
  env.store.reset();  // drains queued writes, closes LMDB
  env.token.reset();
  api::LogEvent(api::LogLevel::kInfo, "stopped");
  return Status::Ok();
}

}  // namespace strongroom::appliance

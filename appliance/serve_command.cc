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

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/api.h"
#include "api/core/log.h"
#include "appliance/cluster_node.h"
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

// WaitForStartupVerification waits until the audit log's deferred start-up
// checks (the store's full re-MAC, which arms the tag index) have finished,
// so the replica's first full read never races them.
void WaitForStartupVerification(const audit::AuditLog& log) {
  while (log.stats().startup_verification == audit::StartupVerification::kPending) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// ClusterNode is what cluster mode adds to a running server: the replica
// (etcd to this node's LMDB, and this node's writes through etcd) and the
// one-node background work. Destroyed before the store.
struct ClusterNode {
  std::unique_ptr<replica::Replica> replica;
  std::unique_ptr<BackgroundWork> background;

  void Stop() {
    if (background) background->Stop();
    background.reset();
    // The store refuses writes from here on: a node never writes its LMDB
    // alone once it joined a cluster.
    if (replica) replica->Stop();
  }
};

// StartClusterNode starts the replica on `store` (seeding etcd when it holds
// no store for the cluster yet, catching up otherwise) and the background
// work. Fails with one line when etcd cannot be reached or the cluster's
// state does not verify under this node's token: the server then exits
// rather than serve from a replica that is not joined (the service manager
// restarts it).
StatusOr<ClusterNode> StartClusterNode(const ClusterConfig& config, storage::Store& store) {
  SR_ASSIGN_OR_RETURN(replica::ReplicaOptions options, ReplicaOptionsFor(config));
  const std::string prefix = replica::KeyLayout(options.cluster_name).prefix();
  const cluster::EtcdClientOptions etcd = options.etcd;
  ClusterNode node;
  StatusOr<std::unique_ptr<replica::Replica>> started = replica::Replica::Start(store, options);
  if (!started.has_value()) {
    const Status& error = started.error();
    std::string hint;
    if (error.code() == StatusCode::kUnavailable) {
      hint = " (is etcd running and reachable at [cluster] endpoints?)";
    } else if (error.code() == StatusCode::kIntegrityError) {
      hint =
          " (a node that did not start the cluster must join it with `strongroom join` on "
          "an empty data directory, using the cluster's token)";
    }
    return std::unexpected(Status(error.code(),
                                  "[cluster]: cannot join the replicated store "
                                  "in etcd: " +
                                      error.message() + hint));
  }
  node.replica = std::move(*started);
  BackgroundWork::Options background;
  background.lock_key = prefix + "leader/background";
  background.node_name = config.node_name;
  SR_ASSIGN_OR_RETURN(node.background, BackgroundWork::Start(etcd, std::move(background)));
  return node;
}

// ProbeOf is the API's view of the replica (api/core/cluster_probe.h).
api::ClusterProbe ProbeOf(const ClusterConfig& config, const replica::Replica& replica) {
  api::ClusterProbe probe;
  probe.max_staleness = std::chrono::seconds(config.max_staleness_seconds);
  const replica::Replica* r = &replica;
  probe.staleness = [r] { return r->staleness(); };
  probe.state = [r] {
    return api::ReplicaState{.healthy = r->health().ok(),
                             .stopped = r->stopped_applying(),
                             .staleness = r->staleness(),
                             .applied_revision = r->applied_revision()};
  };
  return probe;
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
  // node_name names this node's audit log; without it the log must be
  // unnamed (audit_log.h). A section naming etcd is checked here, before
  // anything opens (RunServe starts the replica).
  if (config.cluster.replicated()) {
    StatusOr<replica::ReplicaOptions> checked = ReplicaOptionsFor(config.cluster);
    if (!checked.has_value()) return std::unexpected(checked.error());
  }
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
  ClusterNode cluster;
  if (config.cluster.replicated()) {
    // Before the listener serves: the replica catches up (or seeds etcd),
    // and from here on every write goes through etcd.
    WaitForStartupVerification(*env.audit);
    StatusOr<ClusterNode> joined = StartClusterNode(config.cluster, *env.store);
    if (!joined.has_value()) {
      env.store->SetForeignWriteCheck(nullptr);
      return joined.error();
    }
    cluster = std::move(*joined);
    options.cluster = ProbeOf(config.cluster, *cluster.replica);
    api::LogEvent(api::LogLevel::kInfo, "joined the cluster",
                  {{"cluster", config.cluster.cluster_name},
                   {"node", config.cluster.node_name},
                   {"applied_revision", std::to_string(cluster.replica->applied_revision())}});
  }
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
  cluster.Stop();
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
  cluster.replica.reset();  // before the store, which it writes
  env.store.reset();        // drains queued writes, closes LMDB
  env.token.reset();
  api::LogEvent(api::LogLevel::kInfo, "stopped");
  return Status::Ok();
}

}  // namespace strongroom::appliance

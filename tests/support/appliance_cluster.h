// tests/support/appliance_cluster.h — several real appliances on one real
// etcd cluster, for the cluster end-to-end and chaos tests (issue 18) and
// the cluster benchmark.
//
// Start brings up an EtcdCluster (3 members of Debian's etcd-server, own
// data directories on the temporary directory's real disk, free loopback
// ports, mutual TLS) and N `strongroom serve` processes in replicated mode:
//   - node 0 is made as ServerProcess always makes a server (a SoftHSM
//     token, a test PKI, `strongroom init --node-name node-1`); it seeds the cluster's store;
//   - nodes 1..N-1 share node 0's token directory (as the nodes of one
//     cluster share an HSM partition), PKI, admin password and policies
//     (ServerProcessOptions::share_token_of), each with its own data
//     directory, audit log and free port; each runs `strongroom join`
//     (the cluster's record-MAC key from etcd) in place of init, then
//     serve, which reads the store from etcd;
//   - every node's `[cluster]` section names all etcd members, the etcd
//     client certificate, its node name ("node-1", "node-2", ...) and the
//     cluster name.
//
// Node i keeps its data directory across KillNode and RestartNode (its
// port may change: ask base_url again); etcd member i keeps its ports and
// data directory across KillEtcdMember and RestartEtcdMember.
//
// SECURITY: as ServerProcess: the admin password and the PIN are never
// printed.
//
// Thread-safety: one test thread drives an ApplianceCluster (start, kill,
// restart, stop). The const accessors may be called from other threads
// while nothing is being killed or restarted; a node's base_url changes
// only in RestartNode. Children die with the thread that started them
// (PR_SET_PDEATHSIG): start and stop the cluster on the test's own thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/server_process.h"
#include "tests/support/shell_command.h"

namespace strongroom::testing_support {

struct ApplianceClusterOptions {
  // appliances: how many `strongroom serve` nodes. Default 3.
  int appliances = 3;
  // etcd_members: how many etcd members. Default 3.
  int etcd_members = 3;
  // cluster_name is `[cluster] cluster_name`. Default "e2e".
  std::string cluster_name = "e2e";
  // max_staleness_seconds is `[cluster] max_staleness_seconds`. Default 30.
  int max_staleness_seconds = 30;
  // call_timeout_ms is `[cluster] call_timeout_ms`. Default 2000.
  int call_timeout_ms = 2000;
  // extra_policy_files are written into the (shared) policy directory, as
  // ServerProcessOptions::extra_policy_files. Default none.
  std::map<std::string, std::string> extra_policy_files;
  // extra_config_text is appended to every node's configuration after the
  // [cluster] section (whole sections). Default "".
  std::string extra_config_text;
};

class ApplianceCluster {
 public:
  // Start starts the etcd members, then the appliances one after another
  // (each ready, GET /readyz 200, before the next starts). Returns nullptr
  // after recording a test failure (which step, the tail of a log).
  static std::unique_ptr<ApplianceCluster> Start(ApplianceClusterOptions options = {});
  // ~ApplianceCluster stops the appliances (SIGTERM) before the etcd
  // members (SIGKILL), so no node is left without its store.
  ~ApplianceCluster();
  ApplianceCluster(const ApplianceCluster&) = delete;
  ApplianceCluster& operator=(const ApplianceCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  // node is appliance i (0-based); its name is node_name(i).
  ServerProcess& node(int i) { return *nodes_[i]; }
  const ServerProcess& node(int i) const { return *nodes_[i]; }
  // node_name is "node-<i+1>".
  static std::string node_name(int i) { return "node-" + std::to_string(i + 1); }
  EtcdCluster& etcd() { return *etcd_; }

  // KillNode sends SIGKILL to appliance i (no shutdown, no final
  // checkpoint). False (and a failure) if it was not running.
  bool KillNode(int i);
  // RestartNode starts appliance i again on its data directory and waits
  // until it is ready (it rejoined and caught up far enough to answer
  // /readyz). A node killed with KillNode is reaped first; a running one is
  // stopped (SIGTERM) first. False after recording a failure.
  bool RestartNode(int i);
  // StopNode stops appliance i (SIGTERM, then waits): 0 on a clean exit.
  int StopNode(int i) { return nodes_[i]->Stop(); }
  // StopAll stops every appliance (SIGTERM), returning how many did not
  // exit with 0. The etcd members keep running.
  int StopAll();

  // EtcdLeader is the index of the etcd member every running member names
  // as leader (waits up to 15 s for them to agree), -1 after a failure.
  int EtcdLeader() { return etcd_->FindLeader(); }
  // KillEtcdMember sends SIGKILL to member i; RestartEtcdMember starts it
  // again on its data and waits until it sees a leader.
  bool KillEtcdMember(int i) { return etcd_->Kill(i); }
  bool RestartEtcdMember(int i) { return etcd_->Restart(i); }

  // AuditDirs lists every node's audit folder, node 0 first.
  std::vector<std::string> AuditDirs() const;
  // VerifyAuditLogs runs `strongroom audit verify --public-key P --log A
  // --log B ...` over every node's log (stderr joined to stdout). The nodes
  // should be stopped (a running node may be mid-line). `public_key_pem`
  // is the audit public key (GET /api/audit/public-key).
  ShellResult VerifyAuditLogs(const std::string& public_key_pem) const;
  // ClusterSection is node i's `[cluster]` section (for tests of config).
  std::string ClusterSection(int i) const;

 private:
  explicit ApplianceCluster(ApplianceClusterOptions options) : options_(std::move(options)) {}
  // NodeOptions is the ServerProcessOptions of node i.
  ServerProcessOptions NodeOptions(int i) const;

  ApplianceClusterOptions options_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

}  // namespace strongroom::testing_support

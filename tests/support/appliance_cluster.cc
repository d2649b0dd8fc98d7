#include "tests/support/appliance_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <sstream>

namespace strongroom::testing_support {
namespace {

// TomlString quotes `text` as a TOML basic string (paths and URLs here hold
// no quote or backslash; anything else is escaped all the same).
std::string TomlString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::unique_ptr<ApplianceCluster> ApplianceCluster::Start(ApplianceClusterOptions options) {
  std::unique_ptr<ApplianceCluster> made(new ApplianceCluster(std::move(options)));
  made->etcd_ = EtcdCluster::Start(made->options_.etcd_members);
  if (made->etcd_ == nullptr) return nullptr;  // EtcdCluster recorded why
  for (int i = 0; i < made->options_.appliances; ++i) {
    std::unique_ptr<ServerProcess> node = ServerProcess::Start(made->NodeOptions(i));
    if (node == nullptr) {
      ADD_FAILURE() << "ApplianceCluster: " << node_name(i) << " did not start (above)";
      return nullptr;
    }
    made->nodes_.push_back(std::move(node));
  }
  return made;
}

ApplianceCluster::~ApplianceCluster() {
  StopAll();
  // Reverse order: nodes 1.. share node 0's token and policy directory.
  while (!nodes_.empty()) nodes_.pop_back();
  etcd_.reset();
}

std::string ApplianceCluster::ClusterSection(int i) const {
  const cluster::EtcdClientOptions etcd = etcd_->ClientOptions();
  std::ostringstream text;
  text << "[cluster]\n"
       << "node_name = " << TomlString(node_name(i)) << "\n"
       << "cluster_name = " << TomlString(options_.cluster_name) << "\n"
       << "endpoints = [";
  for (std::size_t m = 0; m < etcd.endpoints.size(); ++m) {
    text << (m == 0 ? "" : ", ") << TomlString(etcd.endpoints[m]);
  }
  text << "]\n"
       << "ca_file = " << TomlString(etcd.tls.ca_file) << "\n"
       << "cert_file = " << TomlString(etcd.tls.cert_file) << "\n"
       << "key_file = " << TomlString(etcd.tls.key_file) << "\n"
       << "max_staleness_seconds = " << options_.max_staleness_seconds << "\n"
       << "call_timeout_ms = " << options_.call_timeout_ms << "\n";
  return text.str();
}

ServerProcessOptions ApplianceCluster::NodeOptions(int i) const {
  ServerProcessOptions node;
  node.extra_config_text = ClusterSection(i);
  if (!options_.extra_config_text.empty()) {
    node.extra_config_text += "\n" + options_.extra_config_text;
  }
  if (i == 0) {
    // The first node is named from init on, so its audit log and token
    // anchor carry its name (the nodes of a shared token never use the
    // unnamed single-node anchor).
    node.extra_policy_files = options_.extra_policy_files;
    node.init_extra_args = {"--node-name", node_name(0)};
    return node;
  }
  // A joining node: node 0's token, PKI, admin password and policies;
  // `strongroom join` in place of init (the cluster's record-MAC key from
  // etcd, its own audit log), then serve reads the store from etcd.
  node.share_token_of = nodes_[0].get();
  node.join_cluster = true;
  return node;
}

bool ApplianceCluster::KillNode(int i) {
  const pid_t pid = nodes_[i]->pid();
  if (pid <= 0) {
    ADD_FAILURE() << node_name(i) << " is not running";
    return false;
  }
  return ::kill(pid, SIGKILL) == 0;
}

bool ApplianceCluster::RestartNode(int i) {
  // Restart stops first: for a node killed with SIGKILL, Stop's SIGTERM
  // finds it dead and reaps it.
  if (nodes_[i]->Restart() == 0) return true;
  ADD_FAILURE() << "ApplianceCluster: " << node_name(i) << " did not restart (above)";
  return false;
}

int ApplianceCluster::StopAll() {
  int unclean = 0;
  for (auto& node : nodes_) {
    if (node->pid() > 0 && node->Stop() != 0) ++unclean;
  }
  return unclean;
}

std::vector<std::string> ApplianceCluster::AuditDirs() const {
  std::vector<std::string> dirs;
  for (const auto& node : nodes_) dirs.push_back(node->data_dir() + "/audit");
  return dirs;
}

ShellResult ApplianceCluster::VerifyAuditLogs(const std::string& public_key_pem) const {
  const std::string key_file = nodes_[0]->dir() + "/cluster-audit-key.pem";
  if (!WriteFileBytes(key_file, public_key_pem, 0600)) return {-1, "cannot write " + key_file};
  std::string line =
      std::string(STRONGROOM_BINARY) + " audit verify --public-key '" + key_file + "'";
  for (const std::string& dir : AuditDirs()) line += " --log '" + dir + "'";
  return RunShell(line + " 2>&1");
}

}  // namespace strongroom::testing_support

// appliance/server_config.h — `strongroom serve`'s configuration: a
// commented TOML file (docs/strongroom.example.toml) whose values command
// line flags may override. A bad file gives one line naming the key and the
// problem. Private to appliance/.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "api/api.h"
#include "appliance/environment.h"
#include "base/status.h"

namespace strongroom::appliance {

// ClusterConfig is the `[cluster]` section: several appliances on one etcd
// (issue 18, docs/cluster-design.md). node_name alone names this node in the
// audit log and its token anchors (single-node mode); a section that names
// etcd (endpoints and the files) runs the replicated store
// (appliance/cluster_node.h).
struct ClusterConfig {
  // True when the file has a [cluster] section (even an empty one).
  bool present = false;
  // etcd's client URLs, each "https://host:port". Required (non-empty)
  // with ca_file, cert_file and key_file as soon as one of them is set.
  std::vector<std::string> endpoints;
  std::string ca_file;    // the CA that signed etcd's server certificates
  std::string cert_file;  // this node's client certificate for etcd
  std::string key_file;   // its private key (named by path, never read here)
  // This node's name: [a-z0-9-], 1 to 63 characters, not starting or ending
  // with '-' (IsNodeName, base/node_name.h). Required when the section is
  // present.
  std::string node_name;
  // The deployment's name (etcd key prefix), same rules. Default "default".
  std::string cluster_name = "default";
  // Reads and decrypts continue from the replica at most this long after
  // etcd was last reached, then 503. 1 to 3600. Default 30.
  std::uint64_t max_staleness_seconds = 30;
  // Every etcd call's deadline. 100 to 60000 ms. Default 2000.
  std::chrono::milliseconds call_timeout{2000};

  // replicated is true when the section names etcd (endpoints set).
  bool replicated() const { return !endpoints.empty(); }
};

struct ServerConfig {
  CommonFlags common;  // data_dir, [token], [memory]
  std::string listen = "127.0.0.1:8443";
  std::string policy_dir = "/etc/strongroom/policies";
  std::string port_file;  // written with the bound port once serving
  api::TlsOptions tls;
  api::ServerLimits limits;
  api::AuthenticatorOptions authentication;
  std::size_t max_bulk_secrets = 500;  // limits.max_bulk_secrets
  api::MetricsOptions metrics;         // [metrics]
  // [ui] session_idle_minutes, session_absolute_minutes: the web view's
  // sign-ins (issue 21). Defaults 15 and 480.
  api::BrowserSessionOptions browser_sessions;
  // store.integrity_check_seconds: how often the server re-verifies every
  // record and the store digest while it runs (issue 16). Default 60.
  std::uint64_t integrity_check_seconds = 60;
  // [cluster]: the node name, and the etcd settings of replicated mode.
  ClusterConfig cluster;
};

// LoadServerConfig reads `path` over the defaults. kInvalidArgument
// "<path>: <key>: <problem>" for unknown keys, wrong types, out-of-range
// values, or a TOML syntax error (with its line).
StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// EffectiveSettingsJson renders `config` (the file with the flags applied)
// as GET /api/admin/settings answers it: as the seed's settings, a JSON
// object of sections ("server", "token", "tls", "memory", "limits",
// "audit", ..., and "cluster" only when the file has that section) whose
// keys, named as in the configuration file, hold strings.
// SECURITY: the token PIN never appears: token.pin_file and the value of
// any pin-* attribute of token.uri (RFC 7512 pin-source, pin-value) read
// "************". Key files are named by their paths, never read.
std::string EffectiveSettingsJson(const ServerConfig& config);

// SplitListen parses "host:port" / "[v6]:port". kInvalidArgument.
Status SplitListen(const std::string& listen, std::string* host, std::uint16_t* port);

}  // namespace strongroom::appliance

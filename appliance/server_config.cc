#include "appliance/server_config.h"

#include <toml++/toml.h>

#include <functional>
#include <map>
#include <set>

#include "base/node_name.h"

namespace strongroom::appliance {
namespace {

Status Bad(const std::string& path, const std::string& key, const std::string& problem) {
  return Status::InvalidArgument(path + ": " + key + ": " + problem);
}

// Setter applies one key's value; returns a problem description or "".
using Setter = std::function<std::string(const toml::node&)>;

Setter String(std::string* out) {
  return [out](const toml::node& node) -> std::string {
    if (!node.is_string()) return "must be a string";
    *out = node.value<std::string>().value_or("");
    return "";
  };
}

Setter Bool(bool* out) {
  return [out](const toml::node& node) -> std::string {
    if (!node.is_boolean()) return "must be true or false";
    *out = node.value<bool>().value_or(false);
    return "";
  };
}

Setter StringList(std::vector<std::string>* out) {
  return [out](const toml::node& node) -> std::string {
    const toml::array* array = node.as_array();
    if (array == nullptr) return "must be an array of strings";
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      if (!element.is_string() || element.value<std::string>().value_or("").empty()) {
        return "must be an array of non-empty strings";
      }
      values.push_back(*element.value<std::string>());
    }
    *out = std::move(values);
    return "";
  };
}

template <typename T>
Setter Integer(T* out, std::int64_t min, std::int64_t max) {
  return [out, min, max](const toml::node& node) -> std::string {
    if (!node.is_integer()) return "must be an integer";
    std::int64_t value = node.value<std::int64_t>().value_or(0);
    if (value < min || value > max) {
      return "must be between " + std::to_string(min) + " and " + std::to_string(max);
    }
    *out = static_cast<T>(value);
    return "";
  };
}

Setter Millis(std::chrono::milliseconds* out, std::int64_t min, std::int64_t max) {
  return [out, min, max](const toml::node& node) -> std::string {
    std::int64_t value = 0;
    std::string problem = Integer(&value, min, max)(node);
    if (problem.empty()) *out = std::chrono::milliseconds(value);
    return problem;
  };
}

Setter Minutes(std::chrono::seconds* out, std::int64_t min, std::int64_t max) {
  return [out, min, max](const toml::node& node) -> std::string {
    std::int64_t value = 0;
    std::string problem = Integer(&value, min, max)(node);
    if (problem.empty()) *out = std::chrono::minutes(value);
    return problem;
  };
}

std::map<std::string, Setter> Keys(ServerConfig& c) {
  api::ServerLimits& l = c.limits;
  return {
      {"listen", String(&c.listen)},
      {"data_dir", String(&c.common.data_dir)},
      {"policy_dir", String(&c.policy_dir)},
      {"port_file", String(&c.port_file)},
      {"token.module", String(&c.common.module)},
      {"token.uri", String(&c.common.token_uri)},
      {"token.pin_file", String(&c.common.pin_file)},
      {"token.service", String(&c.common.token_service)},
      {"tls.certificate", String(&c.tls.certificate_path)},
      {"tls.private_key", String(&c.tls.private_key_path)},
      {"tls.client_ca", String(&c.tls.client_ca_path)},
      {"tls.crl", String(&c.tls.crl_path)},
      {"memory.arena_mib", Integer(&c.common.arena_mib, 1, 1024)},
      {"memory.allow_unlocked", Bool(&c.common.allow_unlocked_memory)},
      {"limits.io_threads", Integer(&l.io_threads, 1, 64)},
      {"limits.handler_threads", Integer(&l.blocking_threads, 1, 256)},
      {"limits.max_queued_requests", Integer(&l.max_queued_requests, 1, 1'000'000)},
      {"limits.max_connections", Integer(&l.max_connections, 1, 1'000'000)},
      {"limits.max_handshakes", Integer(&l.max_handshakes, 1, 1'000'000)},
      {"limits.max_connections_per_address",
       Integer(&l.max_connections_per_address, 0, 1'000'000)},
      {"limits.max_handshakes_per_address", Integer(&l.max_handshakes_per_address, 0, 1'000'000)},
      {"limits.handshake_timeout_ms", Millis(&l.handshake_timeout, 10, 600'000)},
      {"limits.header_timeout_ms", Millis(&l.header_timeout, 10, 600'000)},
      {"limits.body_timeout_ms", Millis(&l.body_timeout, 10, 600'000)},
      {"limits.idle_timeout_ms", Millis(&l.idle_timeout, 10, 3'600'000)},
      {"limits.shutdown_grace_ms", Millis(&l.shutdown_grace, 0, 600'000)},
      {"limits.max_requests_per_connection",
       Integer(&l.max_requests_per_connection, 1, 100'000'000)},
      {"limits.max_header_bytes", Integer(&l.request.max_header_bytes, 1024, 1 << 20)},
      {"limits.max_body_bytes", Integer(&l.request.max_body_bytes, 1024, 16 << 20)},
      {"limits.max_bulk_secrets", Integer(&c.max_bulk_secrets, 1, 100'000)},
      {"limits.password_checks", Integer(&c.authentication.max_concurrent_password_checks, 1, 64)},
      {"audit.max_file_mib", Integer(&c.common.audit.max_file_mib, 1, 65536)},
      {"audit.free_space_watermark_mib",
       Integer(&c.common.audit.free_space_watermark_mib, 0, 1 << 30)},
      {"audit.group_commit", Bool(&c.common.audit.group_commit)},
      {"audit.test_full_disk_trigger", String(&c.common.audit.test_full_disk_trigger)},
      {"store.map_size_mib", Integer(&c.common.map_size_mib, 1, 1 << 20)},
      {"store.integrity_check_seconds", Integer(&c.integrity_check_seconds, 1, 86'400)},
      {"metrics.scrape_services", StringList(&c.metrics.scrape_services)},
      {"metrics.allow_anonymous", Bool(&c.metrics.allow_anonymous)},
      {"ui.session_idle_minutes", Minutes(&c.browser_sessions.idle_timeout, 1, 24 * 60)},
      {"ui.session_absolute_minutes",
       Minutes(&c.browser_sessions.absolute_timeout, 1, 7 * 24 * 60)},
      {"cluster.endpoints", StringList(&c.cluster.endpoints)},
      {"cluster.ca_file", String(&c.cluster.ca_file)},
      {"cluster.cert_file", String(&c.cluster.cert_file)},
      {"cluster.key_file", String(&c.cluster.key_file)},
      {"cluster.node_name", String(&c.cluster.node_name)},
      {"cluster.cluster_name", String(&c.cluster.cluster_name)},
      {"cluster.max_staleness_seconds", Integer(&c.cluster.max_staleness_seconds, 1, 3600)},
      {"cluster.call_timeout_ms", Millis(&c.cluster.call_timeout, 100, 60'000)},
  };
}

void Flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [key, node] : table) {
    std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const toml::table* child = node.as_table()) {
      Flatten(*child, name, out);
    } else {
      out.emplace_back(name, &node);
    }
  }
}

// CheckCluster validates the [cluster] section once every key is read: the
// first problem as "<key>: <problem>" in `key` and the return value.
std::string CheckCluster(const ClusterConfig& cluster, std::string* key) {
  auto problem = [key](const char* name, std::string what) {
    *key = name;
    return what;
  };
  if (cluster.node_name.empty()) {
    return problem("cluster.node_name", "is required when the [cluster] section is present");
  }
  const std::string rule = "must be " + std::string(kNodeNameRule);
  if (!IsNodeName(cluster.node_name)) return problem("cluster.node_name", rule);
  if (!IsNodeName(cluster.cluster_name)) return problem("cluster.cluster_name", rule);
  for (const std::string& endpoint : cluster.endpoints) {
    const bool https = endpoint.starts_with("https://") && endpoint.size() > 8 &&
                       endpoint.find_first_of(" \t\r\n") == std::string::npos;
    if (!https) {
      return problem("cluster.endpoints",
                     "must be https URLs (\"https://host:port\"); \"" + endpoint + "\" is not");
    }
  }
  const bool names_etcd = !cluster.endpoints.empty() || !cluster.ca_file.empty() ||
                          !cluster.cert_file.empty() || !cluster.key_file.empty();
  if (!names_etcd) return "";
  if (cluster.endpoints.empty()) {
    return problem("cluster.endpoints", "is required with ca_file, cert_file and key_file");
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"cluster.ca_file", &cluster.ca_file},
        {"cluster.cert_file", &cluster.cert_file},
        {"cluster.key_file", &cluster.key_file}}) {
    if (value->empty()) return problem(name, "is required with cluster.endpoints");
  }
  return "";
}

}  // namespace

StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  ServerConfig config;
  config.common.arena_mib = 4;
  // Debian's toml++ is built with exceptions: parse errors are thrown.
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return std::unexpected(Status::InvalidArgument(path + ":" +
                                                   std::to_string(error.source().begin.line) +
                                                   ": " + std::string(error.description())));
  }
  std::map<std::string, Setter> keys = Keys(config);
  std::vector<std::pair<std::string, const toml::node*>> values;
  Flatten(parsed, "", values);
  for (const auto& [key, node] : values) {
    auto it = keys.find(key);
    if (it == keys.end()) return std::unexpected(Bad(path, key, "unknown key"));
    if (std::string problem = it->second(*node); !problem.empty())
      return std::unexpected(Bad(path, key, problem));
  }
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string*>{"tls.certificate", &config.tls.certificate_path},
        {"tls.private_key", &config.tls.private_key_path},
        {"tls.client_ca", &config.tls.client_ca_path}}) {
    if (value->empty()) return std::unexpected(Bad(path, key, "is required"));
  }
  config.cluster.present = parsed.get_as<toml::table>("cluster") != nullptr;
  if (config.cluster.present) {
    std::string key;
    if (std::string problem = CheckCluster(config.cluster, &key); !problem.empty()) {
      return std::unexpected(Bad(path, key, problem));
    }
  }
  std::string host;
  std::uint16_t port = 0;
  if (Status listen = SplitListen(config.listen, &host, &port); !listen.ok()) {
    return std::unexpected(Bad(path, "listen", listen.message()));
  }
  return config;
}

Status SplitListen(const std::string& listen, std::string* host, std::uint16_t* port) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return Status::InvalidArgument("must be host:port, e.g. 127.0.0.1:8443");
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  char* end = nullptr;
  long p = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) return Status::InvalidArgument("port must be 0..65535");
  *host = h;
  *port = static_cast<std::uint16_t>(p);
  return Status::Ok();
}

}  // namespace strongroom::appliance

// GET /api/admin/settings' body: the effective configuration with every
// secret-bearing field redacted (server_config.h EffectiveSettingsJson).
#include <nlohmann/json.hpp>

#include "appliance/server_config.h"

namespace strongroom::appliance {
namespace {

using nlohmann::json;

// kRedacted stands for a value that is never shown (the seed's own mask).
constexpr std::string_view kRedacted = "************";

// RedactPinAttributes replaces the value of every pin-* attribute of a
// PKCS#11 URI (path attributes after ';', query attributes after '?' and
// '&'), so neither a PIN nor where it is read from is shown.
std::string RedactPinAttributes(std::string_view uri) {
  std::string out;
  std::size_t start = 0;
  while (start <= uri.size()) {
    std::size_t end = uri.find_first_of(";?&", start);
    if (end == std::string_view::npos) end = uri.size();
    std::string_view attribute = uri.substr(start, end - start);
    std::string_view name = attribute.substr(0, attribute.find('='));
    if (name.starts_with("pkcs11:")) name.remove_prefix(7);
    if (name.starts_with("pin-") && attribute.find('=') != std::string_view::npos) {
      out.append(attribute.substr(0, attribute.find('=') + 1));
      out.append(kRedacted);
    } else {
      out.append(attribute);
    }
    if (end == uri.size()) break;
    out.push_back(uri[end]);
    start = end + 1;
  }
  return out;
}

std::string Text(bool value) { return value ? "true" : "false"; }
std::string Text(std::chrono::milliseconds value) { return std::to_string(value.count()); }
template <typename T>
std::string Text(T value) {
  return std::to_string(value);
}

}  // namespace

std::string EffectiveSettingsJson(const ServerConfig& config) {
  const api::ServerLimits& l = config.limits;
  const CommonFlags& c = config.common;
  json settings = {
      {"server",
       {{"listen", config.listen},
        {"data_dir", c.data_dir},
        {"policy_dir", config.policy_dir},
        {"port_file", config.port_file}}},
      {"token",
       {{"module", c.module},
        {"uri", RedactPinAttributes(c.token_uri)},
        {"pin_file", c.pin_file.empty() ? "" : std::string(kRedacted)},
        {"service", c.token_service}}},
      {"tls",
       {{"certificate", config.tls.certificate_path},
        {"private_key", config.tls.private_key_path},
        {"client_ca", config.tls.client_ca_path},
        {"crl", config.tls.crl_path}}},
      {"memory",
       {{"arena_mib", Text(c.arena_mib)}, {"allow_unlocked", Text(c.allow_unlocked_memory)}}},
      {"limits",
       {{"io_threads", Text(l.io_threads)},
        {"handler_threads", Text(l.blocking_threads)},
        {"max_queued_requests", Text(l.max_queued_requests)},
        {"max_connections", Text(l.max_connections)},
        {"max_handshakes", Text(l.max_handshakes)},
        {"max_connections_per_address", Text(l.max_connections_per_address)},
        {"max_handshakes_per_address", Text(l.max_handshakes_per_address)},
        {"handshake_timeout_ms", Text(l.handshake_timeout)},
        {"header_timeout_ms", Text(l.header_timeout)},
        {"body_timeout_ms", Text(l.body_timeout)},
        {"idle_timeout_ms", Text(l.idle_timeout)},
        {"shutdown_grace_ms", Text(l.shutdown_grace)},
        {"max_requests_per_connection", Text(l.max_requests_per_connection)},
        {"max_header_bytes", Text(l.request.max_header_bytes)},
        {"max_body_bytes", Text(l.request.max_body_bytes)},
        {"max_bulk_secrets", Text(config.max_bulk_secrets)},
        {"password_checks", Text(config.authentication.max_concurrent_password_checks)}}},
      {"audit",
       {{"max_file_mib", Text(c.audit.max_file_mib)},
        {"free_space_watermark_mib", Text(c.audit.free_space_watermark_mib)},
        {"group_commit", Text(c.audit.group_commit)},
        {"test_full_disk_trigger", c.audit.test_full_disk_trigger}}},
      {"store",
       {{"integrity_check_seconds", Text(config.integrity_check_seconds)},
        {"map_size_mib", Text(c.map_size_mib)}}},
      {"ui",
       {{"session_idle_minutes",
         Text(std::chrono::duration_cast<std::chrono::minutes>(config.browser_sessions.idle_timeout)
                  .count())},
        {"session_absolute_minutes", Text(std::chrono::duration_cast<std::chrono::minutes>(
                                              config.browser_sessions.absolute_timeout)
                                              .count())}}},
  };
  if (config.cluster.present) {
    const ClusterConfig& cluster = config.cluster;
    std::string endpoints;
    for (const std::string& endpoint : cluster.endpoints) {
      endpoints += (endpoints.empty() ? "" : ",") + endpoint;
    }
    settings["cluster"] = {{"node_name", cluster.node_name},
                           {"cluster_name", cluster.cluster_name},
                           {"endpoints", endpoints},
                           {"ca_file", cluster.ca_file},
                           {"cert_file", cluster.cert_file},
                           {"key_file", cluster.key_file},
                           {"max_staleness_seconds", Text(cluster.max_staleness_seconds)},
                           {"call_timeout_ms", Text(cluster.call_timeout)}};
  }
  return settings.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace strongroom::appliance

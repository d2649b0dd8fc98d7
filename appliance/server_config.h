// appliance/server_config.h — `strongroom serve`'s configuration: a
// commented TOML file (docs/strongroom.example.toml) whose values command
// line flags may override. A bad file gives one line naming the key and the
// problem. Private to appliance/.
#pragma once

#include <string>

#include "api/api.h"
#include "appliance/environment.h"
#include "base/status.h"

namespace strongroom::appliance {

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
};

// LoadServerConfig reads `path` over the defaults. kInvalidArgument
// "<path>: <key>: <problem>" for unknown keys, wrong types, out-of-range
// values, or a TOML syntax error (with its line).
StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

// EffectiveSettingsJson renders `config` (the file with the flags applied)
// as GET /api/admin/settings answers it: as the seed's settings, a JSON
// object of sections ("server", "token", "tls", "memory", "limits",
// "audit") whose keys, named as in the configuration file, hold strings.
// SECURITY: the token PIN never appears: token.pin_file and the value of
// any pin-* attribute of token.uri (RFC 7512 pin-source, pin-value) read
// "************". Key files are named by their paths, never read.
std::string EffectiveSettingsJson(const ServerConfig& config);

// SplitListen parses "host:port" / "[v6]:port". kInvalidArgument.
Status SplitListen(const std::string& listen, std::string* host, std::uint16_t* port);

}  // namespace strongroom::appliance

// api/api.h — Strongroom's HTTP API over TLS (SPEC section 6). Read this
// first.
//
// ApiServer wires the TLS front (http_server.h: own acceptor, non-blocking
// handshakes, HTTP/1.1 keep-alive, deadlines and caps; docs/tls-front.md)
// to the routes: health, Kubernetes discovery, the SecureValue API and the
// admin endpoints (keys, users, tokens, stats, settings,
// provisioning). Requests are authenticated by
// authenticator.h (users, API tokens, certificates; SPEC 4) and authorised
// by authorizer.h on top of policies/ (SPEC 7). The user, binding and token
// operations the admin routes share with the CLI live in accounts/.
//
// Thread-safety: Start/Shutdown from one controlling thread; ReloadPolicy
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "accounts/accounts.h"
#include "api/auth/authenticator.h"
#include "api/http/http_server.h"
#include "api/http/tls_context.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace strongroom::api {

// MetricsOptions says who may scrape GET /metrics besides a principal
// holding metrics:read (the Auditor and ServerAdmin roles).
struct MetricsOptions {
  // Services whose verified client certificate (named as for decrypt: the
  // CN or the identity mapping) may scrape without a role binding, e.g.
  // "prometheus". Default none.
  std::vector<std::string> scrape_services;
  // Serve /metrics to anyone, without checking credentials. The metrics
  // hold no secret, but they tell an observer the appliance's traffic.
  // Default false.
  bool allow_anonymous = false;
};

struct ApiOptions {
  ServerOptions server;
  TlsOptions tls;
  std::string policy_dir;  // JSON policy files (policies/README.md)
  AuthenticatorOptions authentication;
  bool memory_locked = true;           // reported by /readyz
  std::size_t max_bulk_secrets = 500;  // Dapr bulk: 413 beyond (SPEC 6.2)
  MetricsOptions metrics;
  // settings_json is what GET /api/admin/settings answers: the effective
  // configuration as a JSON object, built by appliance/ (the only module
  // that knows the configuration file). Default "{}".
  // SECURITY: the caller redacts every secret-bearing field (PIN source,
  // passwords, key material); the API serves it as given.
  std::string settings_json = "{}";
};

class ApiServer {
 public:
  // Start loads the TLS files and the policy (refusing a malformed one with
  // file, line and reason), builds the routes and starts serving. `token`,
  // `store`, `keyring` and `clock` must outlive the server.
  static StatusOr<std::unique_ptr<ApiServer>> Start(const ApiOptions& options, crypto::Token& token,
                                                    audit::AuditLog& audit, storage::Store& store,
                                                    crypto::Keyring& keyring, const Clock& clock);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  std::uint16_t port() const;
  // ReloadPolicy re-reads the policy directory; on error the old policy
  // stays and the error names the file and line.
  Status ReloadPolicy();
  // Shutdown stops accepting and lets in-flight requests finish.
  void Shutdown();
  ServerCounters counters() const;
  // routes lists every route served, as (method, pattern with ":param").
  std::vector<Router::RouteInfo> routes() const;

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::api

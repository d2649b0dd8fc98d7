// api/api.h — Strongroom's HTTP API over TLS (SPEC section 6). Read this
// first.
//
// ApiServer wires the TLS front to the routes. The folders, read from the
// bottom up (each has one header giving its own reading order):
//   api/wire/wire.h       request-text rules: names, labels, selectors,
//                         query decoding, list cursors, strict JSON; no I/O
//   api/metrics/metrics.h the Prometheus registry and exposition; no I/O
//   api/http/http.h       the TLS front (own acceptor, non-blocking
//                         handshakes, HTTP/1.1 keep-alive, deadlines and
//                         caps; docs/tls-front.md), router, handler pool
//   api/auth/auth.h       authentication (users, API tokens, certificates;
//                         SPEC 4) and authorisation on top of policies/
//                         (SPEC 7)
//   api/core/core.h       the request core: ApiContext, the starts of a
//                         request, audit scopes, the Status-to-HTTP table
//   the routes, one folder per seed, each on api/core only:
//     api/grafana/grafana_routes.h  discovery, SecureValues, decrypt, Dapr
//     api/sensu/sensu_routes.h      Sensu secrets and providers
//     api/admin/admin_routes.h      the admin API (keys, users, tokens,
//                                   stats, settings, provisioning)
//     api/audit/audit_routes.h      the auditor API
//     api/ops/ops_routes.h          health, metrics, OpenAPI, the CRL
//     api/browser/browser_routes.h  the web view's sign-in and sign-out
//     api/ui/ui_routes.h            the auditors' web view (static files)
// The user, binding and token operations the admin routes share with the
// CLI live in accounts/. Which folder may include which is the table in
// docs/layers.txt, checked by scripts/check-layers.sh.
//
// Thread-safety: Start/Shutdown from one controlling thread; ReloadPolicy
// and ReloadCrl from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/auth/authenticator.h"
#include "api/auth/browser_sessions.h"
#include "api/core/api_metrics.h"
#include "api/core/cluster_probe.h"
#include "api/http/http_server.h"
#include "api/http/tls_context.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace strongroom::api {

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
  // The web view's sign-ins: idle and absolute expiry, caps
  // (api/auth/browser_sessions.h; `[ui]` in the configuration file).
  BrowserSessionOptions browser_sessions;
  // Cluster mode (issue 18): the replica's state for /readyz, /metrics and
  // the 503 past max_staleness (api/core/cluster_probe.h). Empty: single node.
  ClusterProbe cluster;
};

class ApiServer {
 public:
  // Start loads the TLS files and the policy (refusing a malformed one with
  // file, line and reason), builds the routes and starts serving. `token`,
  // `store`, `keyring` and `clock` must outlive the server.
  static StatusOr<std::unique_ptr<ApiServer>> Start(const ApiOptions& options, crypto::TokenService& token,
                                                    audit::AuditLog& audit, storage::Store& store,
                                                    crypto::Keyring& keyring, const Clock& clock);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  std::uint16_t port() const;
  // ReloadPolicy re-reads the policy directory; on error the old policy
  // stays and the error names the file and line.
  Status ReloadPolicy();
  // ReloadCrl re-reads the client CA's CRL (`tls.crl_path`) for the
  // handshakes that start afterwards, and drops cached TLS sessions; on
  // error the previous CRL stays and the error names the file. OK and
  // nothing done when no CRL is configured.
  Status ReloadCrl();
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

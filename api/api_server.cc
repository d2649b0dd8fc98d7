#include "api/admin/admin_routes.h"
#include "api/api.h"
#include "api/audit/audit_routes.h"
#include "api/browser/browser_routes.h"
#include "api/core/api_context.h"
#include "api/core/api_metrics.h"
#include "api/core/errors.h"
#include "api/core/log.h"
#include "api/grafana/grafana_routes.h"
#include "api/ops/ops_routes.h"
#include "api/sensu/sensu_routes.h"
#include "api/ui/ui_routes.h"

namespace strongroom::api {

struct ApiServer::Impl {
  std::unique_ptr<PolicyHolder> policy;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<BrowserSessions> browser_sessions;
  std::unique_ptr<ApiContext> context;
  std::optional<TlsContext> tls;
  Router router;
  std::unique_ptr<ApiMetrics> metrics;  // outlives the server, which counts into it
  std::unique_ptr<HttpServer> server;
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Shutdown(); }

StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options,
                                                      crypto::TokenService& token, audit::AuditLog& audit,
                                                      storage::Store& store,
                                                      crypto::Keyring& keyring,
                                                      const Clock& clock) {
  auto impl = std::make_unique<Impl>();
  impl->policy = std::make_unique<PolicyHolder>(options.policy_dir);
  SR_RETURN_IF_ERROR(impl->policy->Load());
  SR_ASSIGN_OR_RETURN(impl->authenticator,
                      Authenticator::Create(store, *impl->policy, clock, options.authentication));
  SR_ASSIGN_OR_RETURN(TlsContext tls, TlsContext::Create(options.tls));
  impl->tls.emplace(std::move(tls));
  // The cursors' key is derived from the record-MAC key, so a `continue`
  // token is valid on every node of the store and after a restart (issue 18).
  SR_ASSIGN_OR_RETURN(SecretBytes cursor_key, keyring.DeriveKey(ListCursorCodec::kKeyInfo));
  SR_ASSIGN_OR_RETURN(ListCursorCodec cursors, ListCursorCodec::WithKey(std::move(cursor_key)));
  impl->context.reset(new ApiContext{
      store, keyring, token, *impl->policy, *impl->authenticator, audit, clock, std::move(cursors),
      options.memory_locked, options.server.host + ":" + std::to_string(options.server.port)});
  impl->context->max_bulk_secrets = options.max_bulk_secrets;
  impl->metrics = std::make_unique<ApiMetrics>(options.metrics, audit, store, keyring, token);
  impl->context->metrics = impl->metrics.get();
  impl->context->cluster = options.cluster;
  impl->metrics->TrackCluster(options.cluster);
  impl->context->settings_json = options.settings_json;
  SR_ASSIGN_OR_RETURN(impl->browser_sessions,
                      BrowserSessions::Create(clock, options.browser_sessions));
  impl->context->browser_sessions = impl->browser_sessions.get();
  AddHealthRoutes(impl->router, *impl->context);
  AddDiscoveryRoutes(impl->router, *impl->context);
  AddSecureValueRoutes(impl->router, *impl->context);
  AddAdminEncryptionRoutes(impl->router, *impl->context);
  AddAdminUserRoutes(impl->router, *impl->context);
  AddAdminServerRoutes(impl->router, *impl->context);
  AddAuditRoutes(impl->router, *impl->context);
  AddAdminInventoryRoutes(impl->router, *impl->context);
  AddBrowserSessionRoutes(impl->router, *impl->context);
  AddDecryptRoutes(impl->router, *impl->context);
  AddSensuSecretRoutes(impl->router, *impl->context);
  AddSensuProviderRoutes(impl->router, *impl->context);
  AddSensuResolveRoute(impl->router, *impl->context);
  AddOpenApiRoute(impl->router);
  AddCrlRoute(impl->router, *impl->tls);
  AddUiRoutes(impl->router);
  AddMetricsRoutes(impl->router, *impl->context);
  RequestMetrics* request_metrics = impl->metrics->TrackRequests(impl->router);
  auto errors = [](int status, std::string_view message, std::string_view path) {
    return FrontErrorResponse(path, status, message);
  };
  SR_ASSIGN_OR_RETURN(impl->server, HttpServer::Start(options.server, *impl->tls, impl->router,
                                                      errors, request_metrics));
  impl->metrics->TrackServer(impl->server.get());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

std::uint16_t ApiServer::port() const { return impl_->server->port(); }

Status ApiServer::ReloadPolicy() {
  Status loaded = impl_->policy->Load();
  audit::Event event;
  event.action = "policy.reload";
  event.actor = audit::Actor{"system", "strongroom", "", "", ""};
  event.resource.kind = "policies";
  event.outcome = loaded.ok() ? audit::Outcome::kAllowed : audit::Outcome::kFailed;
  event.reason = loaded.ok() ? "ok" : "invalid_policy";
  impl_->context->audit.RecordLater(std::move(event));
  LogEvent(loaded.ok() ? LogLevel::kInfo : LogLevel::kError,
           loaded.ok() ? "policy reloaded" : "policy reload refused; previous policy kept",
           {{"policy_dir", impl_->policy->directory()}, {"detail", loaded.message()}});
  return loaded;
}

Status ApiServer::ReloadCrl() {
  Status loaded = impl_->tls->ReloadCrl();
  LogEvent(loaded.ok() ? LogLevel::kInfo : LogLevel::kError,
           loaded.ok() ? "client CRL reloaded" : "client CRL reload refused; previous CRL kept",
           {{"detail", loaded.message()}});
  return loaded;
}

void ApiServer::Shutdown() {
  if (impl_ && impl_->server) impl_->server->Shutdown();
}

ServerCounters ApiServer::counters() const { return impl_->server->counters(); }

std::vector<Router::RouteInfo> ApiServer::routes() const { return impl_->router.Routes(); }

}  // namespace strongroom::api

// GET /metrics (SPEC 6.6, issue 7): the Prometheus text exposition
// (api/core/api_metrics.h). Who may scrape: a principal holding metrics:read (the
// Auditor and ServerAdmin roles; users by password or mapped certificate,
// API tokens per RBAC), or a service whose verified client certificate is
// listed in MetricsOptions::scrape_services; anyone when
// MetricsOptions::allow_anonymous. 401 without credentials, 403 for an
// identity without the right.
//
// Scrapes come every few seconds, so an allowed scrape writes no audit
// record (the log would fill with them); a refused one does, and
// authentication failures are coalesced as everywhere (SPEC 8).
#include <algorithm>

#include "api/core/api_context.h"
#include "api/core/api_metrics.h"
#include "api/ops/ops_routes.h"

namespace strongroom::api {
namespace {

// IsScrapeService: the request's own certificate names a listed service
// (never a user, and never a token whose owner happens to share the name).
bool IsScrapeService(const Principal& principal, const MetricsOptions& options) {
  return principal.kind == Principal::Kind::kService &&
         std::find(options.scrape_services.begin(), options.scrape_services.end(),
                   principal.name) != options.scrape_services.end();
}

ApiResult Scrape(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  const ApiMetrics& metrics = *context.metrics;
  if (!metrics.options().allow_anonymous) {
    // Served while the replica is stale: the staleness is what it shows.
    auto started =
        StartSession(context, request, &scope, BrowserCookie::kIgnored, StaleReplica::kAllowed);
    if (!started.has_value()) return started.error();
    const Session& session = *started;
    if (!IsScrapeService(session.principal, metrics.options())) {
      if (auto denied = Check(context, request, session, {"metrics:read", "", ""})) {
        scope.Describe("metrics:read", "", "metrics", "");
        return *denied;
      }
    }
  }
  HttpResponse response = JsonResponse(Success::kOk, metrics.Exposition());
  response.content_type = kPrometheusContentType;
  return response;
}

}  // namespace

void AddMetricsRoutes(Router& router, ApiContext& context) {
  // Blocking: a password check (scrypt) may be needed.
  router.Add(Pistache::Http::Method::Get, "/metrics", Execution::kBlocking,
             AuditedRoute(context, Scrape));
}

}  // namespace strongroom::api

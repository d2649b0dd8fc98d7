// The auditor API (SPEC section 8): GET /api/audit/events,
// /api/audit/public-key and /api/audit/verify, for the Auditor and
// ServerAdmin roles (the audit:read permission). Reading the log is itself
// audited.
#include "api/audit/audit_routes.h"

#include <nlohmann/json.hpp>

#include "api/core/api_context.h"
#include "api/wire/query_string.h"
#include "audit/query.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;

// AuditorSession authenticates and checks audit:read.
ApiOr<Session> AuditorSession(ApiContext& context, const HttpRequest& request, AuditScope& scope,
                              std::string_view action) {
  scope.Describe(action, "", "audit", "");
  auto started = StartSession(context, request, &scope);
  if (!started.has_value()) return started;
  if (auto denied = Check(context, request, *started, {"audit:read", "", ""})) {
    return std::unexpected(*denied);
  }
  return started;
}

ApiResult Events(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto started = AuditorSession(context, request, scope, "audit.events:read");
  if (!started.has_value()) return started.error();
  Status bad_parameter = Status::Ok();
  auto param = [&](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> raw = request.message.query().get(std::string(name));
    if (!raw) return std::nullopt;
    StatusOr<std::string> decoded = PercentDecode(*raw);
    if (!decoded.has_value()) {
      bad_parameter = decoded.error();
      return std::nullopt;
    }
    return *decoded;
  };
  StatusOr<audit::EventFilter> filter = audit::ParseEventFilter(param);
  if (!bad_parameter.ok()) return ApiError::BadRequest(bad_parameter.message());
  if (!filter.has_value()) return ApiError::BadRequest(filter.error().message());
  StatusOr<audit::EventPage> page = audit::QueryEvents(context.audit.dir(), *filter);
  if (!page.has_value()) return ApiError::FromStatus(page.error());
  // The records are embedded as written, byte for byte, so an auditor can
  // re-hash what the API returns.
  std::string body = "{\"records\":[";
  for (std::size_t i = 0; i < page->records.size(); ++i) {
    if (i > 0) body += ",";
    body += page->records[i];
  }
  body += "]";
  if (page->next_after_seq)
    body += ",\"continue\":\"" + std::to_string(*page->next_after_seq) + "\"";
  body += "}";
  return JsonResponse(Success::kOk, std::move(body));
}

ApiResult PublicKey(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto started = AuditorSession(context, request, scope, "audit.public-key:read");
  if (!started.has_value()) return started.error();
  HttpResponse response = JsonResponse(Success::kOk, context.audit.public_key_pem());
  response.content_type = "application/x-pem-file";
  response.headers.emplace_back("X-Strongroom-Key-Sha256", context.audit.key_sha256());
  return response;
}

ApiResult VerifyLog(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto started = AuditorSession(context, request, scope, "audit.verify");
  if (!started.has_value()) return started.error();
  StatusOr<audit::VerifyReport> report = context.audit.VerifyNow();
  if (!report.has_value()) return ApiError::FromStatus(report.error());
  nlohmann::ordered_json body{
      {"ok", report->ok},
      {"summary", report->Summary()},
      {"records", report->records},
      {"checkpoints", report->checkpoints},
      {"pending", report->pending},
      {"firstSeq", report->first_seq},
      {"lastSeq", report->last_seq},
      {"from", report->first_time},
      {"to", report->last_time},
      {"head", {{"seq", report->last_seq}, {"hash", report->head_hash}}},
      {"keySha256", context.audit.key_sha256()},
  };
  if (!report->ok) {
    body["problem"] = {{"seq", report->bad_seq},
                       {"file", report->bad_file},
                       {"line", report->bad_line},
                       {"what", report->problem}};
  }
  return JsonResponse(Success::kOk, body.dump());
}

}  // namespace

void AddAuditRoutes(Router& router, ApiContext& context) {
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  router.Add(Method::Get, "/api/audit/events", Execution::kBlocking, audited(Events));
  router.Add(Method::Get, "/api/audit/public-key", Execution::kBlocking, audited(PublicKey));
  router.Add(Method::Get, "/api/audit/verify", Execution::kBlocking, audited(VerifyLog));
}

}  // namespace strongroom::api

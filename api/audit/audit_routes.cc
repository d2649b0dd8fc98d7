// The auditor API (SPEC section 8): GET /api/audit/events,
// /api/audit/public-key and /api/audit/verify, for the Auditor and
// ServerAdmin roles (the audit:read permission), and GET /api/audit/counts
// (issue 21: events per hour, action and outcome; inventory:read). Reading
// the log is itself audited.
#include "api/audit/audit_routes.h"

#include <nlohmann/json.hpp>

#include "api/core/api_context.h"
#include "api/wire/query_string.h"
#include "api/wire/rfc3339_time.h"
#include "audit/event_summary.h"
#include "audit/query.h"
#include "base/json_text.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;

// AuditorSession authenticates and checks `permission` (audit:read unless
// said). Every auditor route is a GET the web view reads through, so the
// view's session cookie is accepted (api/core/api_context.h).
ApiOr<Session> AuditorSession(ApiContext& context, const HttpRequest& request, AuditScope& scope,
                              std::string_view action, std::string_view permission = "audit:read") {
  scope.Describe(action, "", "audit", "");
  auto started = StartSession(context, request, &scope, BrowserCookie::kAccepted);
  if (!started.has_value()) return started;
  if (auto denied = Check(context, request, *started, {permission, "", ""})) {
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
  body += "],\"node\":";
  AppendJsonString(body, context.audit.node_name());
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
      {"node", context.audit.node_name()},
  };
  if (!report->ok) {
    body["problem"] = {{"seq", report->bad_seq},
                       {"file", report->bad_file},
                       {"line", report->bad_line},
                       {"what", report->problem}};
  }
  return JsonResponse(Success::kOk, body.dump());
}

// The longest window GET /api/audit/counts counts over, and its default.
constexpr std::chrono::hours kMaxCountWindow{24 * 31};
constexpr std::chrono::hours kDefaultCountWindow{24};

// CountWindow reads `from` and `to` (RFC 3339): by default the last 24 h,
// `from` alone runs to now, `to` alone starts 24 h before it.
// kInvalidArgument for a bad time, `from` not before `to`, or a window
// longer than 31 days.
StatusOr<std::pair<TimePoint, TimePoint>> CountWindow(const ApiContext& context,
                                                      const HttpRequest& request) {
  SR_ASSIGN_OR_RETURN(std::optional<std::string> from_text, QueryParam(request, "from"));
  SR_ASSIGN_OR_RETURN(std::optional<std::string> to_text, QueryParam(request, "to"));
  std::optional<TimePoint> from, to;
  if (from_text) {
    SR_ASSIGN_OR_RETURN(from, ParseRfc3339Time(*from_text, "from"));
  }
  if (to_text) {
    SR_ASSIGN_OR_RETURN(to, ParseRfc3339Time(*to_text, "to"));
  }
  if (!to) to = from ? std::max(*from, context.clock.Now()) : context.clock.Now();
  if (!from) from = *to - kDefaultCountWindow;
  if (*from >= *to) return std::unexpected(Status::InvalidArgument("from must be before to"));
  if (*to - *from > kMaxCountWindow) {
    return std::unexpected(Status::InvalidArgument("from and to may be at most 31 days apart"));
  }
  return std::pair<TimePoint, TimePoint>(*from, *to);
}

// Counts answers the events per hour, action and outcome in [from, to).
ApiResult Counts(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto started = AuditorSession(context, request, scope, "audit.counts:read", "inventory:read");
  if (!started.has_value()) return started.error();
  StatusOr<std::pair<TimePoint, TimePoint>> window = CountWindow(context, request);
  if (!window.has_value()) return ApiError::BadRequest(window.error().message());
  const std::string from = Rfc3339Micros(window->first), to = Rfc3339Micros(window->second);
  SR_ASSIGN_OR_RETURN(std::vector<audit::HourlyCount> rows,
                      audit::CountEventsByHour(context.audit.dir(), from, to));
  nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
  for (const audit::HourlyCount& row : rows) {
    buckets.push_back({{"hour", row.hour},
                       {"action", row.action},
                       {"outcome", row.outcome},
                       {"count", row.count}});
  }
  nlohmann::ordered_json body{{"node", context.audit.node_name()},
                              {"from", from},
                              {"to", to},
                              {"buckets", std::move(buckets)}};
  return JsonResponse(Success::kOk, body.dump());
}

}  // namespace

void AddAuditRoutes(Router& router, ApiContext& context) {
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  router.Add(Method::Get, "/api/audit/events", Execution::kBlocking, audited(Events));
  router.Add(Method::Get, "/api/audit/public-key", Execution::kBlocking, audited(PublicKey));
  router.Add(Method::Get, "/api/audit/verify", Execution::kBlocking, audited(VerifyLog));
  router.Add(Method::Get, "/api/audit/counts", Execution::kBlocking, audited(Counts));
}

}  // namespace strongroom::api

// api/core/errors.h — the error boundary: the one place that turns a
// handler's ApiResult (api/core/api_error.h) into what leaves the server —
// the HTTP status, the body in the shape of the request's API, the
// Retry-After and WWW-Authenticate headers — and into the audit outcome
// and reason. The bodies are SPEC section 6's:
//   Kubernetes  /apis/..., /api, /api/v1...: a Kubernetes Status object
//               (api/wire/k8s_status.h), its reason from the wire reason;
//   Dapr        /v1.0/...: {"errorCode": ..., "message": ...};
//   message     everything else (Sensu, the Grafana admin API, the auditor
//               API, /metrics): {"message": ...}.
// Thread-safety: functions.
#pragma once

#include <string>
#include <string_view>

#include "api/core/api_error.h"
#include "api/http/http_message.h"
#include "audit/audit.h"
#include "base/status.h"

namespace strongroom::api {

// WireApi is the error-body shape of a request's API.
enum class WireApi { kKubernetes, kDapr, kMessage };

// WireApiFor returns the API of `path` (see the table above).
WireApi WireApiFor(std::string_view path);

// HttpStatusOf returns the HTTP status of `reason` / `success`.
int HttpStatusOf(ApiReason reason);
int HttpStatusOf(Success success);

// KubernetesReasonOf returns the Kubernetes Status reason of `reason`
// ("BadRequest", "NotFound", "AlreadyExists", ...; "" for kBadGateway,
// which Kubernetes has no word for: the body then says "Unknown").
std::string_view KubernetesReasonOf(ApiReason reason);

// DaprErrorCodeOf returns the Dapr errorCode of `reason`:
// ERR_UNAUTHENTICATED (401), ERR_PERMISSION_DENIED (403),
// ERR_SECRET_STORE_NOT_FOUND (400), else ERR_SECRET_GET.
std::string_view DaprErrorCodeOf(ApiReason reason);

// AuditReasonOf returns the audit reason a record of `reason` carries when
// the handler named none: invalid_request, forbidden, not_found, conflict,
// too_large, unsupported_media_type, invalid_object, throttled,
// unavailable, internal_error; "rejected" for kUnauthorized.
std::string_view AuditReasonOf(ApiReason reason);

// AuditOutcomeOf: kForbidden is kDenied, every other failure kFailed.
audit::Outcome AuditOutcomeOf(ApiReason reason);

// ErrorToResponse builds the response to `error` for a request on `path`.
// SECURITY: a kInternalError answers a generic message ("internal error", or
// "a stored record failed its integrity check" for kIntegrityError) without
// details; the cause's message is logged with `request_id`, never sent.
// A Dapr 401 or 5xx answers Dapr's fixed message for it, not the cause's.
HttpResponse ErrorToResponse(std::string_view path, std::string_view request_id,
                             const ApiError& error);
// ErrorToResponse in the shape of `api`.
HttpResponse ErrorToResponse(WireApi api, std::string_view request_id, const ApiError& error);

// ServerRefusalApi is the shape of the server's own refusals on `path`,
// made outside any handler (the handler pool is full; the audit record
// could not be written): as WireApiFor, except that Dapr paths answer
// {"message"} (docs/openapi.yaml, DaprServiceUnavailable).
WireApi ServerRefusalApi(std::string_view path);

// Answer is a finished request: its response and what its audit record says.
struct Answer {
  HttpResponse response;
  audit::Outcome outcome = audit::Outcome::kAllowed;
  std::string audit_reason;  // "ok" for a success
};

// Conclude turns a handler's result into its Answer (ErrorToResponse for
// an error; a success is allowed, reason "ok").
Answer Conclude(const HttpRequest& request, ApiResult result);

// JsonResponse is a success with a JSON body.
HttpResponse JsonResponse(Success success, std::string body);
// EmptyResponse is a success with no body and no Content-Type (a 201 or 204
// that says nothing more).
HttpResponse EmptyResponse(Success success);
// JsonResponse with a failure status and a body of the route's own (GET
// /readyz's checks): no Retry-After, no error shape. Errors go through
// ApiError, not this.
HttpResponse JsonResponse(ApiReason reason, std::string body);

// FrontErrorResponse is the error body for the HTTP front's own refusals
// (404 no route, 405, 413, 400 unparsable...), which it reports as numbers
// (HttpServer's error callback), shaped for `path`'s API like any error.
HttpResponse FrontErrorResponse(std::string_view path, int status, std::string_view message);

// JsonResponse(int) and EmptyResponse(int): the same for code below the
// routes (the HTTP front and its tests). Route folders use Success.
HttpResponse JsonResponse(int status, std::string body);
HttpResponse EmptyResponse(int status);

}  // namespace strongroom::api

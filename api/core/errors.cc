#include "api/core/errors.h"

#include <algorithm>

#include "api/core/log.h"
#include "api/wire/k8s_status.h"
#include "base/json_text.h"

namespace strongroom::api {

WireApi WireApiFor(std::string_view path) {
  if (path.starts_with("/apis/") || path == "/apis" || path == "/api" ||
      path.starts_with("/api/v1")) {
    return WireApi::kKubernetes;
  }
  if (path.starts_with("/v1.0/")) return WireApi::kDapr;
  return WireApi::kMessage;
}

int HttpStatusOf(ApiReason reason) {
  switch (reason) {
    case ApiReason::kBadRequest:
      return 400;
    case ApiReason::kUnauthorized:
      return 401;
    case ApiReason::kForbidden:
      return 403;
    case ApiReason::kNotFound:
      return 404;
    case ApiReason::kAlreadyExists:
    case ApiReason::kConflict:
      return 409;
    case ApiReason::kRequestEntityTooLarge:
      return 413;
    case ApiReason::kUnsupportedMediaType:
      return 415;
    case ApiReason::kInvalid:
      return 422;
    case ApiReason::kTooManyRequests:
      return 429;
    case ApiReason::kInternalError:
      return 500;
    case ApiReason::kBadGateway:
      return 502;
    case ApiReason::kServiceUnavailable:
      return 503;
  }
  return 500;
}

int HttpStatusOf(Success success) {
  switch (success) {
    case Success::kOk:
      return 200;
    case Success::kCreated:
      return 201;
    case Success::kNoContent:
      return 204;
    case Success::kMovedPermanently:
      return 301;
  }
  return 200;
}

std::string_view KubernetesReasonOf(ApiReason reason) {
  switch (reason) {
    case ApiReason::kBadRequest:
      return "BadRequest";
    case ApiReason::kUnauthorized:
      return "Unauthorized";
    case ApiReason::kForbidden:
      return "Forbidden";
    case ApiReason::kNotFound:
      return "NotFound";
    case ApiReason::kAlreadyExists:
      return "AlreadyExists";
    case ApiReason::kConflict:
      return "Conflict";
    case ApiReason::kRequestEntityTooLarge:
      return "RequestEntityTooLarge";
    case ApiReason::kUnsupportedMediaType:
      return "UnsupportedMediaType";
    case ApiReason::kInvalid:
      return "Invalid";
    case ApiReason::kTooManyRequests:
      return "TooManyRequests";
    case ApiReason::kInternalError:
      return "InternalError";
    case ApiReason::kBadGateway:
      return "";
    case ApiReason::kServiceUnavailable:
      return "ServiceUnavailable";
  }
  return "";
}

std::string_view DaprErrorCodeOf(ApiReason reason) {
  switch (reason) {
    case ApiReason::kUnauthorized:
      return "ERR_UNAUTHENTICATED";
    case ApiReason::kForbidden:
      return "ERR_PERMISSION_DENIED";
    case ApiReason::kBadRequest:
      return "ERR_SECRET_STORE_NOT_FOUND";
    default:
      return "ERR_SECRET_GET";
  }
}

std::string_view AuditReasonOf(ApiReason reason) {
  switch (reason) {
    case ApiReason::kBadRequest:
      return "invalid_request";
    case ApiReason::kUnauthorized:
      return "rejected";
    case ApiReason::kForbidden:
      return "forbidden";
    case ApiReason::kNotFound:
      return "not_found";
    case ApiReason::kAlreadyExists:
    case ApiReason::kConflict:
      return "conflict";
    case ApiReason::kRequestEntityTooLarge:
      return "too_large";
    case ApiReason::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ApiReason::kInvalid:
      return "invalid_object";
    case ApiReason::kTooManyRequests:
      return "throttled";
    case ApiReason::kInternalError:
    case ApiReason::kBadGateway:
      return "internal_error";
    case ApiReason::kServiceUnavailable:
      return "unavailable";
  }
  return "rejected";
}

audit::Outcome AuditOutcomeOf(ApiReason reason) {
  return reason == ApiReason::kForbidden ? audit::Outcome::kDenied : audit::Outcome::kFailed;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse EmptyResponse(int status) {
  HttpResponse response;
  response.status = status;
  response.content_type = {};
  return response;
}

HttpResponse JsonResponse(Success success, std::string body) {
  return JsonResponse(HttpStatusOf(success), std::move(body));
}

HttpResponse EmptyResponse(Success success) { return EmptyResponse(HttpStatusOf(success)); }

HttpResponse JsonResponse(ApiReason reason, std::string body) {
  return JsonResponse(HttpStatusOf(reason), std::move(body));
}

namespace {

// DaprBody is Dapr's error body: {"errorCode": ..., "message": ...}.
std::string DaprBody(std::string_view code, std::string_view message) {
  std::string body = "{\"errorCode\":";
  AppendJsonString(body, code);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += "}";
  return body;
}

// ShownMessage is what the caller may read of `error`.
// SECURITY: an internal error's cause stays in the log.
std::string_view ShownMessage(const ApiError& error, WireApi api) {
  if (error.reason == ApiReason::kInternalError && !error.show_detail) {
    if (api == WireApi::kDapr) return "failed to get secret";
    return error.status.code() == StatusCode::kIntegrityError
               ? "a stored record failed its integrity check"
               : "internal error";
  }
  if (api == WireApi::kDapr) {
    // Dapr's client sees one fixed message for these, whatever the cause.
    if (error.reason == ApiReason::kUnauthorized) {
      return "a verified service certificate is required";
    }
    if (HttpStatusOf(error.reason) >= 500) return "failed to get secret";
  }
  return error.status.message();
}

std::string Body(WireApi api, const ApiError& error, std::string_view message) {
  const int status = HttpStatusOf(error.reason);
  switch (api) {
    case WireApi::kKubernetes: {
      // An internal error names no object (its message says nothing either).
      const bool named =
          error.reason != ApiReason::kInternalError && (!error.name.empty() || !error.kind.empty());
      StatusDetails details{named ? error.name : "", named ? "secret.grafana.app" : "",
                            named ? error.kind : ""};
      std::string_view reason =
          error.reason == ApiReason::kInternalError ? "" : KubernetesReasonOf(error.reason);
      return KubernetesStatusBody(status, message, reason, details);
    }
    case WireApi::kDapr:
      return DaprBody(DaprErrorCodeOf(error.reason), message);
    case WireApi::kMessage:
      break;
  }
  return JsonMessageBody(message);
}

}  // namespace

WireApi ServerRefusalApi(std::string_view path) {
  const WireApi api = WireApiFor(path);
  return api == WireApi::kDapr ? WireApi::kMessage : api;
}

HttpResponse ErrorToResponse(std::string_view path, std::string_view request_id,
                             const ApiError& error) {
  return ErrorToResponse(WireApiFor(path), request_id, error);
}

HttpResponse ErrorToResponse(WireApi api, std::string_view request_id, const ApiError& error) {
  if (error.reason == ApiReason::kInternalError) {
    LogEvent(LogLevel::kError, "request failed",
             {{"request_id", std::string(request_id)},
              {"code", std::string(StatusCodeName(error.status.code()))},
              {"detail", error.status.message()}});
  }
  HttpResponse response =
      JsonResponse(HttpStatusOf(error.reason), Body(api, error, ShownMessage(error, api)));
  std::optional<std::chrono::seconds> retry_after = error.retry_after;
  if (!retry_after && error.reason == ApiReason::kServiceUnavailable) {
    retry_after = std::chrono::seconds(1);
  }
  if (retry_after) {
    const long long seconds = std::max<long long>(1, retry_after->count());
    response.headers.emplace_back("Retry-After", std::to_string(seconds));
  }
  if (error.basic_challenge) {
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"strongroom\"");
  }
  return response;
}

Answer Conclude(const HttpRequest& request, ApiResult result) {
  if (result.ok()) {
    return Answer{std::move(result.response()), audit::Outcome::kAllowed, "ok"};
  }
  const ApiError& error = result.error();
  return Answer{
      ErrorToResponse(request.path, request.request_id, error), AuditOutcomeOf(error.reason),
      error.audit_reason.empty() ? std::string(AuditReasonOf(error.reason)) : error.audit_reason};
}

HttpResponse FrontErrorResponse(std::string_view path, int status, std::string_view message) {
  // The front's refusals keep the shape they always had: Kubernetes on
  // Kubernetes paths, {"message"} elsewhere (Dapr paths included).
  if (WireApiFor(path) == WireApi::kKubernetes) {
    return JsonResponse(status, KubernetesStatusBody(status, message));
  }
  return JsonResponse(status, JsonMessageBody(message));
}

}  // namespace strongroom::api

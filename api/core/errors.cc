#include "api/core/errors.h"

#include "api/core/log.h"
#include "api/wire/k8s_status.h"

namespace strongroom::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kResourceExhausted:
    case StatusCode::kTokenUnavailable:
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kIntegrityError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(std::string_view path, int status, std::string_view message,
                           std::string_view reason, std::string_view name, std::string_view kind) {
  if (path.starts_with("/apis/") || path == "/apis" || path == "/api" ||
      path.starts_with("/api/v1")) {
    StatusDetails details{std::string(name),
                          name.empty() && kind.empty() ? "" : "secret.grafana.app",
                          std::string(kind)};
    return JsonResponse(status, KubernetesStatusBody(status, message, reason, details));
  }
  return JsonResponse(status, JsonMessageBody(message));
}

HttpResponse ErrorFromStatus(std::string_view path, const Status& status,
                             std::string_view request_id, std::string_view name,
                             std::string_view kind) {
  int http = HttpStatusFor(status.code());
  std::string_view reason;
  if (status.code() == StatusCode::kAlreadyExists) reason = "AlreadyExists";
  if (http == 500) {
    LogEvent(LogLevel::kError, "request failed",
             {{"request_id", std::string(request_id)},
              {"code", std::string(StatusCodeName(status.code()))},
              {"detail", status.message()}});
    return ErrorResponse(path, 500,
                         status.code() == StatusCode::kIntegrityError
                             ? "a stored record failed its integrity check"
                             : "internal error");
  }
  HttpResponse response = ErrorResponse(path, http, status.message(), reason, name, kind);
  if (http == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

HttpResponse EmptyResponse(int status) {
  HttpResponse response;
  response.status = status;
  response.content_type.clear();
  return response;
}

}  // namespace strongroom::api

// api/wire/k8s_status.h — the JSON error and success bodies of the API (SPEC 6):
// the Kubernetes `Status` object on /apis/... paths, {"message": ...}
// elsewhere. Pure functions. Thread-safety: may be called from any thread.
#pragma once

#include <string>
#include <string_view>

namespace strongroom::api {

// StatusDetails names the object a Status is about. Each member defaults to
// empty, and empty members are left out of the JSON.
struct StatusDetails {
  std::string name;   // the object's metadata.name
  std::string group;  // its API group, e.g. "secret.grafana.app"
  std::string kind;   // its resource, e.g. "securevalues"
};

// KubernetesStatusBody returns the compact JSON of a Kubernetes `Status`
// failure object:
//   {"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure",
//    "message":...,"reason":...,"details":{...},"code":N}
// When `reason` is empty it defaults from `code`: 400 and 411 BadRequest, 401
// Unauthorized, 403 Forbidden, 404 NotFound, 405 MethodNotAllowed, 406
// NotAcceptable, 409 Conflict, 410 Expired, 413 RequestEntityTooLarge, 415
// UnsupportedMediaType, 422 Invalid, 429 TooManyRequests, 500 InternalError,
// 503 ServiceUnavailable, anything else "Unknown". "details" is present only
// when details.name or details.kind is non-empty. Invalid UTF-8 in `message`
// is replaced by U+FFFD rather than failing.
std::string KubernetesStatusBody(int code, std::string_view message, std::string_view reason = {},
                                 const StatusDetails& details = {});

// KubernetesSuccessBody returns the compact JSON a delete answers with:
//   {"apiVersion":"v1","kind":"Status","metadata":{},"status":"Success",
//    "details":{...},"code":200}
// with "details" as in KubernetesStatusBody.
std::string KubernetesSuccessBody(const StatusDetails& details = {});

// JsonMessageBody returns {"message": message} as compact JSON, the error body
// of paths outside /apis. Invalid UTF-8 is replaced by U+FFFD.
std::string JsonMessageBody(std::string_view message);

}  // namespace strongroom::api

// api/core/errors.h — the one table from Status codes to HTTP statuses, and the
// error bodies SPEC section 6 prescribes: a Kubernetes Status object on
// /apis/... paths and {"message": ...} elsewhere.
// Thread-safety: functions.
#pragma once

#include <string_view>

#include "api/http/http_message.h"
#include "base/status.h"

namespace strongroom::api {

// HttpStatusFor maps a Status code to an HTTP status.
int HttpStatusFor(StatusCode code);

// ErrorResponse builds the error response for `path`. `reason` overrides
// the Kubernetes reason (e.g. "AlreadyExists"); `name`/`kind` fill details.
HttpResponse ErrorResponse(std::string_view path, int status, std::string_view message,
                           std::string_view reason = {}, std::string_view name = {},
                           std::string_view kind = {});

// ErrorFromStatus maps `status` and builds the response. Internal errors
// (500) are answered with a generic message and logged with the detail.
HttpResponse ErrorFromStatus(std::string_view path, const Status& status,
                             std::string_view request_id, std::string_view name = {},
                             std::string_view kind = {});

// JsonResponse wraps a JSON body.
HttpResponse JsonResponse(int status, std::string body);

// EmptyResponse is `status` with no body and no Content-Type (a 201 or 204
// that says nothing more).
HttpResponse EmptyResponse(int status);

}  // namespace strongroom::api

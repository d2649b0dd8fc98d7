// api/core/api_error.h — what a handler answers with: ApiResult, a response
// (success) or an ApiError, which is a Status plus typed details: the wire
// reason (which sets the HTTP status and the API's reason word), the audit
// reason, a retry-after, the object the error is about, and whether to
// challenge for Basic credentials. Handlers never pick an HTTP status
// number and never put meaning into a message's text; the one boundary
// (api/core/errors.h) turns a result into the status, the body of the
// request's API, the headers and the audit outcome.
// Thread-safety: values, no shared state.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "api/http/http_message.h"
#include "base/status.h"

namespace strongroom::api {

// ApiReason is why a request failed, in the vocabulary every API shares
// (Kubernetes Status reasons). Each has exactly one HTTP status, given by
// HttpStatusOf (api/core/errors.h).
enum class ApiReason {
  kBadRequest,             // 400: malformed input
  kUnauthorized,           // 401: no valid identity
  kForbidden,              // 403: identified, not allowed
  kNotFound,               // 404
  kAlreadyExists,          // 409: create of an existing name
  kConflict,               // 409: a concurrent change or a stale resourceVersion
  kRequestEntityTooLarge,  // 413
  kUnsupportedMediaType,   // 415
  kInvalid,                // 422: a well-formed object that is not valid
  kTooManyRequests,        // 429: throttled
  kInternalError,          // 500: a bug, a library failure, a record failing its check
  kBadGateway,             // 502: an upstream (a Sensu provider) failed
  kServiceUnavailable,     // 503: transient; retry later
};

// Success is a successful answer's HTTP status, named. kMovedPermanently
// (301) is a redirect; its handler adds the Location header.
enum class Success { kOk, kCreated, kNoContent, kMovedPermanently };

// ApiError is a failed request: `status` is the cause (its message is shown
// to the caller unless the reason is kInternalError, whose detail is logged
// instead), the rest is typed detail for the boundary.
struct ApiError {
  ApiReason reason = ApiReason::kInternalError;
  Status status = Status::Internal("unset error");
  // The audit record's reason; empty: the wire reason's own
  // (AuditReasonOf, api/core/errors.h).
  std::string audit_reason;
  // The Retry-After header; unset: 1 s for kServiceUnavailable, else none.
  std::optional<std::chrono::seconds> retry_after;
  // The object the error is about (Kubernetes `details`); may be empty.
  std::string name;
  std::string kind;
  // Adds `WWW-Authenticate: Basic realm="strongroom"` (a 401 to a
  // management request, where a password may be the answer).
  bool basic_challenge = false;
  // Shows `status`'s message even for kInternalError (whose message is
  // otherwise replaced by a generic one): only for a message known to hold
  // nothing sensitive, e.g. a policy file's parse error.
  bool show_detail = false;

  // FromStatus maps `status`'s code through the one table (ReasonForCode).
  // An OK status is a bug: it becomes kInternalError.
  static ApiError FromStatus(Status status);
  // Named errors: each carries a Status of the matching code and `message`,
  // which must be safe to show.
  static ApiError BadRequest(std::string message);
  static ApiError Unauthorized(std::string message);
  static ApiError Forbidden(std::string message);
  static ApiError NotFound(std::string message);
  static ApiError AlreadyExists(std::string message);
  static ApiError Conflict(std::string message);
  static ApiError TooLarge(std::string message);
  static ApiError UnsupportedMediaType(std::string message);
  static ApiError Invalid(std::string message);
  static ApiError TooManyRequests(std::string message, std::chrono::seconds retry_after);
  static ApiError BadGateway(std::string message);
  static ApiError Unavailable(std::string message);

  // About names the object (Kubernetes `details.name`/`kind`).
  ApiError About(std::string_view object_name, std::string_view object_kind) &&;
  // WithAuditReason sets the audit record's reason (e.g. "no_permission").
  ApiError WithAuditReason(std::string reason) &&;
  // RetryAfter sets the Retry-After header.
  ApiError RetryAfter(std::chrono::seconds seconds) &&;
  // WithBasicChallenge asks for Basic credentials (WWW-Authenticate).
  ApiError WithBasicChallenge() &&;
  // ShowingDetail sets show_detail.
  ApiError ShowingDetail() &&;
};

// ReasonForCode is the one table from Status codes to wire reasons:
// kInvalidArgument, kOutOfRange, kFailedPrecondition: kBadRequest;
// kUnauthenticated: kUnauthorized; kPermissionDenied: kForbidden;
// kNotFound: kNotFound; kAlreadyExists: kAlreadyExists; kAborted: kConflict;
// kResourceExhausted, kTokenUnavailable, kUnavailable: kServiceUnavailable;
// kIntegrityError, kInternal (and kOk, a bug): kInternalError.
ApiReason ReasonForCode(StatusCode code);

// ApiOr<T> is a step of a request (a session, a parsed body) or the error
// that ends it.
template <typename T>
using ApiOr = std::expected<T, ApiError>;

// ApiResult is what a handler returns: a successful response or an error.
// It converts from each, and from a failed Status (through FromStatus), so
// `return ApiError::NotFound(...)`, `return status;` and SR_ASSIGN_OR_RETURN
// over a StatusOr or an ApiOr all work in a handler.
class [[nodiscard]] ApiResult {
 public:
  ApiResult(HttpResponse response) : value_(std::move(response)) {}
  ApiResult(ApiError error) : value_(std::move(error)) {}
  // REQUIRES: !error.ok() (an OK status becomes kInternalError).
  ApiResult(Status error) : value_(ApiError::FromStatus(std::move(error))) {}
  ApiResult(std::unexpected<ApiError> error) : value_(std::move(error.error())) {}
  ApiResult(std::unexpected<Status> error)
      : value_(ApiError::FromStatus(std::move(error.error()))) {}

  bool ok() const { return std::holds_alternative<HttpResponse>(value_); }
  // REQUIRES: ok().
  HttpResponse& response() { return std::get<HttpResponse>(value_); }
  const HttpResponse& response() const { return std::get<HttpResponse>(value_); }
  // REQUIRES: !ok().
  const ApiError& error() const { return std::get<ApiError>(value_); }
  // status is OK for a response, else the error's cause (for tests).
  Status status() const { return ok() ? Status::Ok() : error().status; }

 private:
  std::variant<HttpResponse, ApiError> value_;
};

}  // namespace strongroom::api

#include "api/core/api_error.h"

namespace strongroom::api {

ApiReason ReasonForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kFailedPrecondition:
      return ApiReason::kBadRequest;
    case StatusCode::kUnauthenticated:
      return ApiReason::kUnauthorized;
    case StatusCode::kPermissionDenied:
      return ApiReason::kForbidden;
    case StatusCode::kNotFound:
      return ApiReason::kNotFound;
    case StatusCode::kAlreadyExists:
      return ApiReason::kAlreadyExists;
    case StatusCode::kAborted:
      return ApiReason::kConflict;
    case StatusCode::kResourceExhausted:
    case StatusCode::kTokenUnavailable:
    case StatusCode::kUnavailable:
    case StatusCode::kOutcomeUnknown:
      return ApiReason::kServiceUnavailable;
    case StatusCode::kOk:
    case StatusCode::kIntegrityError:
    case StatusCode::kInternal:
      return ApiReason::kInternalError;
  }
  return ApiReason::kInternalError;
}

namespace {

ApiError Make(ApiReason reason, Status status) {
  ApiError error;
  error.reason = reason;
  error.status = std::move(status);
  return error;
}

}  // namespace

ApiError ApiError::FromStatus(Status status) {
  if (status.ok()) {
    return Make(ApiReason::kInternalError,
                Status::Internal("an OK status was returned as an error"));
  }
  const ApiReason reason = ReasonForCode(status.code());
  return Make(reason, std::move(status));
}

ApiError ApiError::BadRequest(std::string message) {
  return Make(ApiReason::kBadRequest, Status::InvalidArgument(std::move(message)));
}
ApiError ApiError::Unauthorized(std::string message) {
  return Make(ApiReason::kUnauthorized, Status::Unauthenticated(std::move(message)));
}
ApiError ApiError::Forbidden(std::string message) {
  return Make(ApiReason::kForbidden, Status::PermissionDenied(std::move(message)));
}
ApiError ApiError::NotFound(std::string message) {
  return Make(ApiReason::kNotFound, Status::NotFound(std::move(message)));
}
ApiError ApiError::AlreadyExists(std::string message) {
  return Make(ApiReason::kAlreadyExists, Status::AlreadyExists(std::move(message)));
}
ApiError ApiError::Conflict(std::string message) {
  return Make(ApiReason::kConflict, Status::Aborted(std::move(message)));
}
ApiError ApiError::TooLarge(std::string message) {
  return Make(ApiReason::kRequestEntityTooLarge, Status::OutOfRange(std::move(message)));
}
ApiError ApiError::UnsupportedMediaType(std::string message) {
  return Make(ApiReason::kUnsupportedMediaType, Status::InvalidArgument(std::move(message)));
}
ApiError ApiError::Invalid(std::string message) {
  return Make(ApiReason::kInvalid, Status::InvalidArgument(std::move(message)));
}
ApiError ApiError::TooManyRequests(std::string message, std::chrono::seconds retry_after) {
  ApiError error = Make(ApiReason::kTooManyRequests, Status::ResourceExhausted(std::move(message)));
  error.retry_after = retry_after;
  return error;
}
ApiError ApiError::BadGateway(std::string message) {
  return Make(ApiReason::kBadGateway, Status::Unavailable(std::move(message)));
}
ApiError ApiError::Unavailable(std::string message) {
  return Make(ApiReason::kServiceUnavailable, Status::Unavailable(std::move(message)));
}

ApiError ApiError::About(std::string_view object_name, std::string_view object_kind) && {
  name = std::string(object_name);
  kind = std::string(object_kind);
  return std::move(*this);
}

ApiError ApiError::WithAuditReason(std::string reason) && {
  audit_reason = std::move(reason);
  return std::move(*this);
}

ApiError ApiError::RetryAfter(std::chrono::seconds seconds) && {
  retry_after = seconds;
  return std::move(*this);
}

ApiError ApiError::WithBasicChallenge() && {
  basic_challenge = true;
  return std::move(*this);
}

ApiError ApiError::ShowingDetail() && {
  show_detail = true;
  return std::move(*this);
}

}  // namespace strongroom::api

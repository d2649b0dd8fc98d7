// base/status.h — the error value every module returns across its boundary.
//
// Status is a closed enum code plus a message that is always safe to show:
// it never carries a secret value, key material, a PIN or a password.
// StatusOr<T> is std::expected<T, Status>. Thread-safety: values, no shared
// state.
#pragma once

#include <expected>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace strongroom {

// StatusCode is closed: the api/ edge maps each code to one HTTP status.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // malformed input from the caller (400)
  kNotFound,            // the named thing does not exist (404)
  kAlreadyExists,       // create of an existing name (409)
  kAborted,             // optimistic-concurrency conflict (409)
  kFailedPrecondition,  // the system is not in a state that allows this
  kPermissionDenied,    // authenticated but not allowed (403)
  kUnauthenticated,     // no valid identity (401)
  kIntegrityError,      // a MAC, tag or signature did not verify (500)
  kTokenUnavailable,    // the PKCS#11 token cannot be reached (503)
  kUnavailable,         // transient: retry later (503)
  kResourceExhausted,   // a bounded resource is full (503 / 413)
  kOutOfRange,          // a value is past a limit
  kInternal,            // a bug or an unexpected library failure (500)
  // kOutcomeUnknown: a write was sent to the cluster and whether it
  // committed could not be learnt in time (503); never "not committed".
  kOutcomeUnknown,
};

// StatusCodeName returns a stable lower_snake name for `code`.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // Status() is OK.
  Status() = default;
  Status(StatusCode code, std::string message);
  // Lets `return std::unexpected(status);` work in a function returning
  // Status as well as in one returning StatusOr<T>.
  Status(std::unexpected<Status> error) : Status(std::move(error.error())) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status IntegrityError(std::string m) { return {StatusCode::kIntegrityError, std::move(m)}; }
  static Status TokenUnavailable(std::string m) { return {StatusCode::kTokenUnavailable, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status OutcomeUnknown(std::string m) { return {StatusCode::kOutcomeUnknown, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // ToString returns "code: message" ("ok" when OK).
  std::string ToString() const;

  // WithContext returns a copy whose message is prefixed with `context`.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

template <typename T>
using StatusOr = std::expected<T, Status>;

// ToStatus drops the value of a StatusOr, keeping its error (or OK).
template <typename T>
inline Status ToStatus(const StatusOr<T>& s) {
  return s.has_value() ? Status() : s.error();
}

namespace internal {
inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
inline Status GetStatus(const StatusOr<T>& s) {
  return s.has_value() ? Status() : s.error();
}
}  // namespace internal

}  // namespace strongroom

#define SR_CONCAT_INNER(a, b) a##b
#define SR_CONCAT(a, b) SR_CONCAT_INNER(a, b)

// SR_RETURN_IF_ERROR(expr): `expr` is a Status or StatusOr; returns its error
// from the enclosing function (which returns Status or StatusOr<U>).
#define SR_RETURN_IF_ERROR(expr)                                        \
  do {                                                                  \
    ::strongroom::Status sr_status_ = ::strongroom::internal::GetStatus(expr); \
    if (!sr_status_.ok()) return std::unexpected(std::move(sr_status_)); \
  } while (0)

// SR_ASSIGN_OR_RETURN(lhs, expr): `expr` is a StatusOr<T>; on success moves
// its value into `lhs` (which may be a declaration), else returns its error.
#define SR_ASSIGN_OR_RETURN(lhs, expr) \
  SR_ASSIGN_OR_RETURN_IMPL(SR_CONCAT(sr_statusor_, __LINE__), lhs, expr)
#define SR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)               \
  auto tmp = (expr);                                           \
  if (!tmp.has_value()) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)

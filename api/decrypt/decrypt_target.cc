// Verdicts, a stored secure value as a decrypt target, and the per-name
// audit record (api/decrypt/decrypt.h).
#include <algorithm>

#include "api/core/errors.h"
#include "api/decrypt/decrypt.h"

namespace strongroom::api {

Decision Failed(const Status& error) {
  return Decision{Verdict::kError, std::string(StatusCodeName(error.code())), std::nullopt, error};
}

ApiError DecisionError(const Decision& decision, std::string forbidden, std::string not_found) {
  ApiError error;
  switch (decision.verdict) {
    case Verdict::kNoPermission:
    case Verdict::kNotOnAllowlist:
      error = ApiError::Forbidden(std::move(forbidden));
      break;
    case Verdict::kUnknown:
      error = ApiError::NotFound(std::move(not_found));
      break;
    case Verdict::kAllowed:
    case Verdict::kError:
      error = ApiError::FromStatus(decision.error);
      break;
  }
  return std::move(error).WithAuditReason(decision.reason);
}

DecryptTarget SealTarget(std::string target_name, std::string_view ns, std::string_view name,
                         storage::SecureValueRecord record, std::uint64_t generation) {
  DecryptTarget target;
  target.name = std::move(target_name);
  // SECURITY: parsed once here; the data-key id it names decides whether
  // the request can finish on the I/O thread, and the same parse is opened.
  SealedValue sealed{std::string(ns), std::string(name), std::move(record), generation, {}};
  StatusOr<crypto::EnvelopeView> envelope = crypto::ParseEnvelopeView(sealed.record.envelope);
  if (!envelope.has_value()) {
    target.decision = Failed(envelope.error());
    return target;
  }
  sealed.envelope = *envelope;
  target.decision = Decision{Verdict::kAllowed, "ok"};
  target.sealed.emplace(std::move(sealed));
  return target;
}

DecryptTarget OpenStoredValue(std::string target_name, const Principal& service,
                              std::string_view ns, std::string_view name,
                              const storage::Record& raw) {
  StatusOr<storage::SecureValueRecord> record = storage::DecodeSecureValueRecord(raw.value);
  DecryptTarget target;
  target.name = std::move(target_name);
  if (!record.has_value()) {
    target.decision = Failed(record.error());
    return target;
  }
  const std::vector<std::string>& list = record->decrypters;
  if (list.empty()) {
    target.decision = Decision{Verdict::kNotOnAllowlist, "empty_allowlist"};
    return target;
  }
  if (std::find(list.begin(), list.end(), service.name) == list.end()) {
    target.decision = Decision{Verdict::kNotOnAllowlist, "not_on_allowlist"};
    return target;
  }
  return SealTarget(std::move(target.name), ns, name, std::move(*record), raw.generation);
}

namespace {

audit::Event Recorded(audit::Event event, std::string_view ns, std::string_view kind,
                      std::string_view name, const Decision& decision, int http_status) {
  event.resource = audit::Resource{std::string(ns), std::string(kind), std::string(name)};
  event.http_status = http_status;
  event.reason = decision.reason;
  switch (decision.verdict) {
    case Verdict::kAllowed:
      event.outcome = audit::Outcome::kAllowed;
      break;
    case Verdict::kNoPermission:
    case Verdict::kNotOnAllowlist:
      event.outcome = audit::Outcome::kDenied;
      break;
    case Verdict::kUnknown:
    case Verdict::kError:
      event.outcome = audit::Outcome::kFailed;
      break;
  }
  return event;
}

}  // namespace

void DecryptRequest::RecordName(const DecryptTarget& target, const ApiResult& answer, bool last) {
  const int status = answer.ok() ? answer.response().status : HttpStatusOf(answer.error().reason);
  scope.events.push_back(Recorded(last ? std::move(scope.event) : scope.event, ns, kind,
                                  target.name, target.decision, status));
}

void DecryptRequest::RecordName(const DecryptTarget& target, Success success) {
  scope.events.push_back(
      Recorded(scope.event, ns, kind, target.name, target.decision, HttpStatusOf(success)));
}

void DecryptRequest::RecordName(const DecryptTarget& target, const ApiError& error) {
  scope.events.push_back(
      Recorded(scope.event, ns, kind, target.name, target.decision, HttpStatusOf(error.reason)));
}

}  // namespace strongroom::api

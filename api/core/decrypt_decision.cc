#include "api/core/decrypt_decision.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "api/core/errors.h"
#include "storage/secure_value_record.h"

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
    case Verdict::kNeedsToken:
    case Verdict::kError:
      error = ApiError::FromStatus(decision.error);
      break;
  }
  return std::move(error).WithAuditReason(decision.reason);
}

Decision OpenSecureValue(ApiContext& context, const Principal& service, std::string_view ns,
                         std::string_view name, const storage::Record& raw, bool may_block) {
  StatusOr<storage::SecureValueRecord> record = storage::DecodeSecureValueRecord(raw.value);
  if (!record.has_value()) return Failed(record.error());
  if (record->decrypters.empty()) return {Verdict::kNotOnAllowlist, "empty_allowlist"};
  if (std::find(record->decrypters.begin(), record->decrypters.end(), service.name) ==
      record->decrypters.end()) {
    return {Verdict::kNotOnAllowlist, "not_on_allowlist"};
  }
  const crypto::ValueBinding binding{ns, name, record->uid, raw.generation};
  if (!may_block) {
    StatusOr<std::optional<SecretBytes>> cached =
        context.keyring.UnsealIfCached(binding, record->envelope);
    if (!cached.has_value()) return Failed(cached.error());
    if (!cached->has_value()) {
      // Handled by the caller before anything else; an error if ever used.
      return {Verdict::kNeedsToken, "needs_token", std::nullopt,
              Status::Internal("a decrypt that needs the token reached an I/O thread's answer")};
    }
    return {Verdict::kAllowed, "ok", std::move(**cached)};
  }
  StatusOr<SecretBytes> value = context.keyring.Unseal(binding, record->envelope);
  if (!value.has_value()) return Failed(value.error());
  return {Verdict::kAllowed, "ok", std::move(*value)};
}

HttpResponse Offloaded(AuditScope& scope, std::string* partial_body) {
  scope.needs_blocking = true;
  scope.events.clear();
  if (partial_body != nullptr) OPENSSL_cleanse(partial_body->data(), partial_body->size());
  return HttpResponse{};
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
    case Verdict::kNeedsToken:
      event.outcome = audit::Outcome::kFailed;
      break;
  }
  return event;
}

}  // namespace

audit::Event NameEvent(audit::Event event, std::string_view ns, std::string_view kind,
                       std::string_view name, const Decision& decision, const ApiResult& answer) {
  return Recorded(std::move(event), ns, kind, name, decision,
                  answer.ok() ? answer.response().status : HttpStatusOf(answer.error().reason));
}

audit::Event NameEvent(audit::Event event, std::string_view ns, std::string_view kind,
                       std::string_view name, const Decision& decision, Success success) {
  return Recorded(std::move(event), ns, kind, name, decision, HttpStatusOf(success));
}

}  // namespace strongroom::api

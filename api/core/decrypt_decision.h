// api/core/decrypt_decision.h — private to api/: what every decrypt endpoint
// shares (SPEC 6.2): the outcome of the checks for one name, the opening of
// a stored secure value for a service (its `decrypters` allowlist, then the
// unseal), the per-name audit record, and the hand-over to the handler pool
// when a data key would need the token on an I/O thread.
// Thread-safety: functions; a Decision belongs to one request.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/core/api_context.h"
#include "api/core/api_error.h"
#include "base/secret_bytes.h"

namespace strongroom::api {

// Verdict is the outcome of SPEC 6.2's checks for one name.
// kNeedsToken: allowed so far, but the data key must be unwrapped through
// the token, which an I/O thread may not wait for (AuditScope::may_block).
enum class Verdict { kAllowed, kNoPermission, kUnknown, kNotOnAllowlist, kError, kNeedsToken };

struct Decision {
  Verdict verdict = Verdict::kError;
  // The audit reason: ok, no_permission, unknown_namespace, unknown_secret,
  // empty_allowlist, not_on_allowlist, or the error's code (endpoints may
  // add their own, e.g. unknown_provider, or no_value_permission when a
  // Sensu resolve lacks the decrypt permission on the secure value).
  std::string reason;
  std::optional<SecretBytes> value;  // kAllowed only
  Status error = Status::Ok();       // kError only
};

// Failed is the decision for an error (its code name is the reason).
Decision Failed(const Status& error);

// DecisionError is the error a refused decision answers: kForbidden with
// `forbidden` (no permission, not on the allowlist: one message, so a
// refusal never says whether the name exists), kNotFound with `not_found`
// (unknown), else the error's own (ApiError::FromStatus), with the
// decision's reason as the audit reason.
// REQUIRES: decision.verdict is not kAllowed or kNeedsToken.
ApiError DecisionError(const Decision& decision, std::string forbidden, std::string not_found);

// OpenSecureValue checks the allowlist of the stored secure value `raw`
// (`ns`/`name`) for `service` and unseals its value; with !may_block it
// answers kNeedsToken instead of waiting for the token.
// SECURITY: an empty allowlist allows nobody (SPEC 4).
Decision OpenSecureValue(ApiContext& context, const Principal& service, std::string_view ns,
                         std::string_view name, const storage::Record& raw, bool may_block);

// Offloaded stops a handler that would wait for the token on an I/O
// thread: nothing was recorded or answered; it runs again on the pool.
// SECURITY: `partial_body` (a batch or bulk answer begun with values
// already unsealed) is wiped, as a refused answer is.
HttpResponse Offloaded(AuditScope& scope, std::string* partial_body = nullptr);

// NameEvent is the audit record of one name: the request's event (actor,
// request id) given as `event`, with this resource, the decision's outcome
// and reason, and the HTTP status of `answer` (what this name was answered:
// the response, or an error through the boundary's table). A single-name
// request moves its scope's event in; batch and bulk copy it.
audit::Event NameEvent(audit::Event event, std::string_view ns, std::string_view kind,
                       std::string_view name, const Decision& decision, const ApiResult& answer);
// NameEvent for a name answered with `success` inside a larger answer (a
// batch or bulk decrypt's value).
audit::Event NameEvent(audit::Event event, std::string_view ns, std::string_view kind,
                       std::string_view name, const Decision& decision, Success success);

}  // namespace strongroom::api

// api/core/audit_scope.h — private to api/: how a request becomes an audit
// record (SPEC section 8). An audited route's handler says what the
// request does (Describe); StartSession says who asked; AuditedRoute
// writes the record after the handler, before the response leaves, and
// turns the response into a 503 if the record cannot be written (fail
// closed). Store writes are recorded through the store's pre-commit hook
// (AuditedWrite), so their record is durable before LMDB commits.
// Thread-safety: an AuditScope belongs to one request.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/core/api_error.h"
#include "api/http/router.h"
#include "audit/audit.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::api {

struct ApiContext;
struct Principal;

struct AuditScope {
  audit::Event event;
  bool audited = false;  // set by Describe
  // The reason code when authentication failed (coalesced, not per request).
  std::optional<std::string> authentication_failure;
  std::shared_ptr<audit::PendingWrite> pending;
  int writes = 0;
  // When not empty (the decrypt endpoints: one record per name, each with
  // its own outcome and reason), these records are written instead of
  // `event`, all durable before the response leaves.
  std::vector<audit::Event> events;

  // Describe marks the request as audited and names its action and resource.
  void Describe(std::string_view action, std::string_view namespace_name, std::string_view kind,
                std::string_view name);
  // SetActor records who the request is.
  void SetActor(const Principal& principal);
  // SetReason overrides the reason the answer implies ("ok" for a success,
  // else the ApiError's audit reason).
  void SetReason(std::string reason) { event.reason = std::move(reason); }
};

using AuditedHandler = std::function<ApiResult(HttpRequest&, AuditScope&)>;

// AuditedRoute wraps `handler`: after it returns, its result goes through
// the error boundary (Conclude, api/core/errors.h), and a Described request
// is recorded with the outcome the result implies (a success allowed,
// kForbidden denied, else failed), unless its store write was recorded by
// the hook already; an authentication failure is counted for the coalesced
// record.
// SECURITY: when the record cannot be written the response becomes 503.
RouteHandler AuditedRoute(ApiContext& context, AuditedHandler handler);
// AuditedRoute for a plain function taking the context first.
using AuditedFunction = ApiResult (*)(ApiContext&, HttpRequest&, AuditScope&);
RouteHandler AuditedRoute(ApiContext& context, AuditedFunction handler);

// BeginAuditScope is a fresh scope for `request`: its request id, an
// anonymous actor at the peer's address.
AuditScope BeginAuditScope(const HttpRequest& request);

// FinishDeferred ends a kDeferred request (the decrypt pipeline,
// api/decrypt/): `result` goes through the error boundary, the scope's
// records (its per-name `events`, else its one event) are counted in the
// decrypt metrics and handed to the audit log without waiting
// (AuditLog::RecordAllAsync), and `respond` is called once they are
// durable, from the sequencer or the log's watchdog thread; an
// authentication failure is counted for the coalesced record and answered
// at once.
// SECURITY: when the records cannot be written within the log's
// answer_within the response becomes 503 and its body is wiped.
void FinishDeferred(ApiContext& context, const std::shared_ptr<HttpRequest>& request,
                    AuditScope& scope, ApiResult result, Responder respond);

// AuditedWrite runs `fn` as a store write whose audit record (the scope's
// event, allowed with the HTTP status of `success`, and the
// resourceVersion it commits) is written by the pre-commit hook before
// LMDB commits.
StatusOr<storage::WriteReceipt> AuditedWrite(ApiContext& context, AuditScope& scope,
                                             Success success,
                                             std::function<Status(storage::WriteTxn&)> fn);

// ExpectAuditedWrite is AuditedWrite for a write made elsewhere (the
// account operations of accounts/accounts.h, shared with the CLI): it announces the
// scope's event, allowed with `success`'s status, and returns the tag the
// caller must pass to that one storage::Store::Write.
// SECURITY: each call returns a new tag ("<request id>#<n>"): the hook
// matches a record to its write by tag, so two writes must never share one.
std::string ExpectAuditedWrite(ApiContext& context, AuditScope& scope, Success success);

}  // namespace strongroom::api

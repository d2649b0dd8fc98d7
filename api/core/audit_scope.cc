#include "api/core/audit_scope.h"

#include <openssl/crypto.h>

#include "api/auth/principal.h"
#include "api/core/api_context.h"
#include "api/core/api_metrics.h"
#include "api/core/errors.h"

namespace strongroom::api {
namespace {

// AddressOnly drops the port: failures are coalesced per client address.
std::string AddressOnly(const std::string& address) {
  std::size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

void AuditScope::Describe(std::string_view action, std::string_view namespace_name,
                          std::string_view kind, std::string_view name) {
  audited = true;
  event.action = std::string(action);
  // Names come from the path and may not be valid yet: bounded, so a
  // record stays small.
  constexpr std::size_t kMaxName = 253;
  event.resource = audit::Resource{std::string(namespace_name.substr(0, kMaxName)),
                                   std::string(kind), std::string(name.substr(0, kMaxName))};
}

void AuditScope::SetActor(const Principal& principal) {
  event.actor.kind = std::string(principal.KindName());
  event.actor.name = principal.name;
  event.actor.token_id = principal.token_id;
  event.actor.certificate_sha256 = principal.certificate_fingerprint;
  if (!principal.address.empty()) event.actor.address = AddressOnly(principal.address);
}

AuditScope BeginAuditScope(const HttpRequest& request) {
  AuditScope scope;
  scope.event.request_id = request.request_id;
  scope.event.actor.kind = "anonymous";
  if (request.peer != nullptr) scope.event.actor.address = AddressOnly(request.peer->address);
  return scope;
}

namespace {

// RecordsToWrite turns a finished scope into its records: the per-name
// records, or the one event with the outcome its answer implies, or none.
std::vector<audit::Event> RecordsToWrite(AuditScope& scope, const Answer& answer) {
  if (!scope.events.empty()) return std::move(scope.events);
  if (!scope.audited) return {};
  scope.event.outcome = answer.outcome;
  scope.event.http_status = answer.response.status;
  if (scope.event.reason.empty()) scope.event.reason = answer.audit_reason;
  scope.event.resource_version.reset();
  std::vector<audit::Event> records;
  records.push_back(std::move(scope.event));
  return records;
}

// Refused replaces a response whose records could not be written.
// SECURITY: nothing audited is answered without its record, and the
// response's body (decrypted values) is wiped.
HttpResponse Refused(const HttpRequest& request, HttpResponse& response, const Status& recorded) {
  OPENSSL_cleanse(response.body.data(), response.body.size());
  return ErrorToResponse(ServerRefusalApi(request.path), request.request_id,
                         ApiError::FromStatus(recorded).RetryAfter(std::chrono::seconds(1)));
}

}  // namespace

RouteHandler AuditedRoute(ApiContext& context, AuditedHandler handler) {
  ApiContext* c = &context;
  return [c, handler = std::move(handler)](HttpRequest& request) {
    AuditScope scope = BeginAuditScope(request);
    Answer answer = Conclude(request, handler(request, scope));
    if (scope.authentication_failure) {
      c->audit.AuthenticationFailed(scope.event.actor.address, *scope.authentication_failure);
      return std::move(answer.response);
    }
    // The hook recorded the write (and cancels it if the commit failed).
    if (scope.events.empty() && scope.audited && scope.pending && c->audit.Forget(scope.pending)) {
      return std::move(answer.response);
    }
    std::vector<audit::Event> records = RecordsToWrite(scope, answer);
    if (records.empty()) return std::move(answer.response);
    Status recorded = c->audit.RecordAll(std::move(records));
    if (!recorded.ok()) return Refused(request, answer.response, recorded);
    return std::move(answer.response);
  };
}

namespace {

// IsDecrypt: a decrypt action (secret.securevalues:decrypt, and any other
// "...:decrypt" permission's records).
bool IsDecrypt(std::string_view action) { return action.ends_with(":decrypt"); }

// CountDecrypts counts the request's decrypt decisions in the metrics:
// each name's record, or one refusal when authentication failed. Counted
// when decided: a decision whose record cannot be written is answered 503
// instead (visible in the request and audit failure metrics).
void CountDecrypts(ApiContext* c, const AuditScope& scope,
                   const std::vector<audit::Event>& records) {
  if (c->metrics == nullptr) return;
  if (scope.authentication_failure) {
    if (IsDecrypt(scope.event.action)) {
      c->metrics->CountDecrypt(audit::Outcome::kDenied, "unauthenticated");
    }
    return;
  }
  for (const audit::Event& record : records) {
    if (IsDecrypt(record.action)) c->metrics->CountDecrypt(record.outcome, record.reason);
  }
}

}  // namespace

void FinishDeferred(ApiContext& context, const std::shared_ptr<HttpRequest>& request,
                    AuditScope& scope, ApiResult result, Responder respond) {
  ApiContext* c = &context;
  Answer answer = Conclude(*request, std::move(result));
  HttpResponse& response = answer.response;
  if (scope.authentication_failure) {
    CountDecrypts(c, scope, {});
    c->audit.AuthenticationFailed(scope.event.actor.address, *scope.authentication_failure);
    respond(std::move(response));
    return;
  }
  std::vector<audit::Event> records = RecordsToWrite(scope, answer);
  CountDecrypts(c, scope, records);
  if (records.empty()) {
    respond(std::move(response));
    return;
  }
  // `respond` moves into the callback: copying a std::function allocates.
  // MakeAsyncDone keeps the callback in the log's own allocation for the
  // call (a std::function would allocate once more for it).
  c->audit.RecordAllAsync(
      std::move(records),
      audit::MakeAsyncDone([request, respond = std::move(respond),
                            response = std::move(response)](Status recorded) mutable {
        if (recorded.ok()) {
          respond(std::move(response));
        } else {
          respond(Refused(*request, response, recorded));
        }
      }));
}

RouteHandler AuditedRoute(ApiContext& context, AuditedFunction handler) {
  ApiContext* c = &context;
  return AuditedRoute(context, [c, handler](HttpRequest& request, AuditScope& scope) {
    return handler(*c, request, scope);
  });
}

std::string ExpectAuditedWrite(ApiContext& context, AuditScope& scope, Success success) {
  // A request may write more than once (a retried replace): one tag each.
  std::string tag = scope.event.request_id + "#" + std::to_string(++scope.writes);
  if (scope.pending) context.audit.Forget(scope.pending);
  audit::Event event = scope.event;
  event.outcome = audit::Outcome::kAllowed;
  event.http_status = HttpStatusOf(success);
  event.reason = "ok";
  scope.pending = context.audit.ExpectWrite(tag, std::move(event));
  return tag;
}

StatusOr<storage::WriteReceipt> AuditedWrite(ApiContext& context, AuditScope& scope,
                                             Success success,
                                             std::function<Status(storage::WriteTxn&)> fn) {
  std::string tag = ExpectAuditedWrite(context, scope, success);
  return context.store.Write(tag, std::move(fn));
}

}  // namespace strongroom::api

// The decrypt endpoints (SPEC 6.2, issue 6): the only way a value leaves
// the appliance, for services over mutual TLS only.
//   POST /apis/secret.grafana.app/v1beta1/namespaces/{ns}/securevalues/{name}/decrypt
//   POST /apis/secret.grafana.app/v1beta1/namespaces/{ns}/decrypt   {"names": [...]}
//   GET  /v1.0/secrets/{store}/{name}    Dapr; {store} is the namespace
//   GET  /v1.0/secrets/{store}/bulk      Dapr; only what the caller may decrypt
// Checks run in SPEC 6.2's order: a verified service certificate (else
// 401), the decrypt permission in the namespace (else 403, whether or not
// the namespace or the secret exists), existence (404, Dapr 204), the
// secret's `decrypters` allowlist (403; an empty list allows nobody). Each
// name gets its own audit record with the detailed reason, durable before
// the response leaves (AuditScope::events).
#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "api/auth/authorizer.h"
#include "api/core/api_context.h"
#include "api/core/decrypt_decision.h"
#include "api/grafana/grafana_routes.h"
#include "api/wire/k8s_names.h"
#include "base/json_text.h"
#include "storage/secure_value_record.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using storage::Table;

constexpr std::string_view kAction = "secret.securevalues:decrypt";
constexpr std::string_view kKind = "securevalues";
constexpr std::size_t kMaxBatchNames = 100;

// NamespaceHasValues tells an unknown namespace (no secure value at all)
// from an unknown secret, for the audit reason and Dapr's 400.
StatusOr<bool> NamespaceHasValues(const storage::ReadTxn& txn, std::string_view ns) {
  bool found = false;
  SR_RETURN_IF_ERROR(txn.Scan(Table::kSecureValues, storage::SecureValueKey(ns, ""), "",
                              [&](std::string_view, const storage::Record&) {
                                found = true;
                                return false;
                              }));
  return found;
}

// Decide runs the checks after the certificate for `name` in `ns`.
Decision Decide(ApiContext& context, const Session& session, std::string_view ns,
                std::string_view name, bool may_block) {
  StatusOr<bool> may =
      Authorize(*session.policy, session.txn, session.principal, {kAction, ns, name});
  if (!may.has_value()) return Failed(may.error());
  if (!*may) return {Verdict::kNoPermission, "no_permission"};
  StatusOr<storage::Record> raw =
      session.txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, name));
  if (!raw.has_value()) {
    if (raw.error().code() != StatusCode::kNotFound) return Failed(raw.error());
    StatusOr<bool> known = NamespaceHasValues(session.txn, ns);
    if (!known.has_value()) return Failed(known.error());
    return {Verdict::kUnknown, *known ? "unknown_secret" : "unknown_namespace"};
  }
  return OpenSecureValue(context, session.principal, ns, name, *raw, may_block);
}

// Forbidden is the one 403 message: the same whether the caller lacks the
// permission or is not on the allowlist, and never says whether the name
// exists.
std::string Forbidden(const Principal& service, std::string_view ns, std::string_view name) {
  return "service '" + service.name + "' may not decrypt securevalues \"" + std::string(name) +
         "\" in namespace \"" + std::string(ns) + "\"";
}

// StartDecrypt describes the request, authenticates the service and
// validates the namespace (and name) from the path; an invalid one is
// kBadRequest with the rule it breaks, or with `invalid_path` when given
// (Dapr's client is told only "bad store name").
ApiOr<Session> StartDecrypt(ApiContext& context, HttpRequest& request, AuditScope& scope,
                            std::string_view ns, std::string_view name, bool with_name,
                            std::string_view invalid_path = {}) {
  scope.Describe(kAction, ns, kKind, name);
  ApiOr<Session> started = StartServiceSession(context, request, scope);
  if (!started.has_value()) return started;
  Status valid = ValidateNamespaceName(ns);
  if (valid.ok() && with_name) valid = ValidateObjectName(name, "name");
  if (!valid.ok()) {
    return std::unexpected(
        ApiError::BadRequest(invalid_path.empty() ? valid.message() : std::string(invalid_path)));
  }
  return started;
}

// NotFound is the one 404 message of a secure value.
std::string NotFound(std::string_view name) {
  return "securevalues \"" + std::string(name) + "\" not found";
}

ApiResult DecryptOne(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  const std::string ns(request.Param("ns")), name(request.Param("name"));
  SR_ASSIGN_OR_RETURN(const Session session, StartDecrypt(context, request, scope, ns, name, true));
  Decision decision = Decide(context, session, ns, name, scope.may_block);
  if (decision.verdict == Verdict::kNeedsToken) return Offloaded(scope);
  ApiResult answer = [&]() -> ApiResult {
    if (decision.verdict != Verdict::kAllowed) {
      return DecisionError(decision, Forbidden(session.principal, ns, name), NotFound(name))
          .About(name, kKind);
    }
    std::string body = "{\"name\":";
    AppendJsonString(body, name);
    body += ",\"value\":";
    AppendJsonString(body, decision.value->RevealSecretAsString());
    body += "}";
    return JsonResponse(Success::kOk, std::move(body));
  }();
  scope.events.push_back(NameEvent(std::move(scope.event), ns, kKind, name, decision, answer));
  return answer;
}

}  // namespace

StatusOr<std::vector<std::string>> BatchNames(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("names") ||
      !parsed["names"].is_array()) {
    return std::unexpected(Status::InvalidArgument("the body must be {\"names\": [...]}"));
  }
  const nlohmann::json& names = parsed["names"];
  if (names.empty() || names.size() > kMaxBatchNames) {
    return std::unexpected(Status::InvalidArgument("names must hold 1 to " +
                                                   std::to_string(kMaxBatchNames) + " names"));
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const nlohmann::json& name : names) {
    if (!name.is_string()) return std::unexpected(Status::InvalidArgument("names must be strings"));
    std::string text = name.get<std::string>();
    SR_RETURN_IF_ERROR(ValidateObjectName(text, "names[]"));
    if (seen.insert(text).second) out.push_back(std::move(text));
  }
  return out;
}

namespace {

ApiResult DecryptBatch(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  const std::string ns(request.Param("ns"));
  SR_ASSIGN_OR_RETURN(const Session session, StartDecrypt(context, request, scope, ns, "", false));
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<std::vector<std::string>> names = BatchNames(request.body());
  if (!names.has_value()) return ApiError::BadRequest(names.error().message());
  std::string body = "{\"results\":{";
  bool first = true;
  for (const std::string& name : *names) {
    Decision decision = Decide(context, session, ns, name, scope.may_block);
    if (decision.verdict == Verdict::kNeedsToken) return Offloaded(scope, &body);
    if (!first) body += ",";
    first = false;
    AppendJsonString(body, name);
    if (decision.verdict == Verdict::kAllowed) {
      body += ":{\"value\":";
      AppendJsonString(body, decision.value->RevealSecretAsString());
      body += "}";
      scope.events.push_back(NameEvent(scope.event, ns, kKind, name, decision, Success::kOk));
    } else {
      // Each refused name says only its status and Kubernetes reason.
      ApiError error = DecisionError(decision, "", "");
      body += ":{\"error\":{\"code\":" + std::to_string(HttpStatusOf(error.reason)) +
              ",\"reason\":\"" + std::string(KubernetesReasonOf(error.reason)) + "\"}}";
      scope.events.push_back(NameEvent(scope.event, ns, kKind, name, decision, std::move(error)));
    }
  }
  body += "}}";
  return JsonResponse(Success::kOk, std::move(body));
}

// StoreNotFound is Dapr's answer for a namespace without secure values.
ApiError StoreNotFound(const std::string& ns) {
  return ApiError::BadRequest("secret store " + ns + " not found");
}

constexpr std::string_view kBadStoreName = "bad store name";

ApiResult DaprGet(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  const std::string ns(request.Param("store")), name(request.Param("name"));
  SR_ASSIGN_OR_RETURN(const Session session,
                      StartDecrypt(context, request, scope, ns, name, true, kBadStoreName));
  Decision decision = Decide(context, session, ns, name, scope.may_block);
  if (decision.verdict == Verdict::kNeedsToken) return Offloaded(scope);
  ApiResult answer = [&]() -> ApiResult {
    if (decision.verdict == Verdict::kUnknown) {
      // Dapr: an unknown store is an error, an unknown secret an empty answer.
      if (decision.reason == "unknown_namespace") {
        return StoreNotFound(ns).WithAuditReason(decision.reason);
      }
      return EmptyResponse(Success::kNoContent);
    }
    if (decision.verdict != Verdict::kAllowed) {
      return DecisionError(decision, Forbidden(session.principal, ns, name), NotFound(name));
    }
    std::string body = "{";
    AppendJsonString(body, name);
    body += ":";
    AppendJsonString(body, decision.value->RevealSecretAsString());
    body += "}";
    return JsonResponse(Success::kOk, std::move(body));
  }();
  scope.events.push_back(NameEvent(std::move(scope.event), ns, kKind, name, decision, answer));
  return answer;
}

ApiResult DaprBulk(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  const std::string ns(request.Param("store"));
  SR_ASSIGN_OR_RETURN(const Session session,
                      StartDecrypt(context, request, scope, ns, "", false, kBadStoreName));
  StatusOr<bool> may =
      AuthorizeSomeName(*session.policy, session.txn, session.principal, kAction, ns);
  if (!may.has_value()) return may.error();
  if (!*may) {
    return ApiError::Forbidden(Forbidden(session.principal, ns, "*"))
        .WithAuditReason("no_permission");
  }
  // The records the caller may decrypt: name-scoped permission and the
  // allowlist. Nothing is unsealed until the count is known to fit.
  std::vector<std::pair<std::string, storage::Record>> permitted;
  bool any = false;
  Status scan_error = Status::Ok();
  const std::string prefix = storage::SecureValueKey(ns, "");
  Status scanned = session.txn.Scan(
      Table::kSecureValues, prefix, "", [&](std::string_view key, const storage::Record& raw) {
        any = true;
        const std::string name(key.substr(prefix.size()));
        StatusOr<bool> named =
            Authorize(*session.policy, session.txn, session.principal, {kAction, ns, name});
        if (!named.has_value()) {
          scan_error = named.error();
          return false;
        }
        if (!*named) return true;
        StatusOr<storage::SecureValueRecord> record = storage::DecodeSecureValueRecord(raw.value);
        if (!record.has_value()) {
          scan_error = record.error();
          return false;
        }
        const auto& list = record->decrypters;
        if (std::find(list.begin(), list.end(), session.principal.name) != list.end()) {
          permitted.emplace_back(name, raw);
        }
        return true;
      });
  if (scanned.ok()) scanned = scan_error;
  if (!scanned.ok()) return scanned;
  if (!any) return StoreNotFound(ns).WithAuditReason("unknown_namespace");
  if (permitted.size() > context.max_bulk_secrets) {
    return ApiError::TooLarge("more than " + std::to_string(context.max_bulk_secrets) +
                              " secrets; read them one by one")
        .WithAuditReason("too_many_secrets");
  }
  std::string body = "{";
  for (std::size_t i = 0; i < permitted.size(); ++i) {
    const auto& [name, raw] = permitted[i];
    Decision decision = OpenSecureValue(context, session.principal, ns, name, raw, scope.may_block);
    if (decision.verdict == Verdict::kNeedsToken) return Offloaded(scope, &body);
    if (decision.verdict != Verdict::kAllowed) {
      // Checked above; only a failure to unseal gets here. Nothing is
      // returned and every name unsealed so far is recorded.
      OPENSSL_cleanse(body.data(), body.size());
      ApiError error = DecisionError(decision, "", "");
      scope.events.push_back(NameEvent(scope.event, ns, kKind, name, decision, error));
      return error;
    }
    scope.events.push_back(NameEvent(scope.event, ns, kKind, name, decision, Success::kOk));
    if (i > 0) body += ",";
    AppendJsonString(body, name);
    body += ":{";
    AppendJsonString(body, name);
    body += ":";
    AppendJsonString(body, decision.value->RevealSecretAsString());
    body += "}";
  }
  body += "}";
  if (permitted.empty()) scope.SetReason("nothing_permitted");
  return JsonResponse(Success::kOk, std::move(body));
}

}  // namespace

void AddDecryptRoutes(Router& router, ApiContext& context) {
  // Deferred: checked and unsealed on the I/O thread (no password hashing
  // here; a data key not in the cache costs one token unwrap), answered
  // when the records are group-committed.
  auto audited = [&context](AuditedFunction handler) {
    return DeferredAuditedRoute(context, handler);
  };
  router.AddDeferred(Method::Post,
                     "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name/decrypt",
                     audited(DecryptOne));
  router.AddDeferred(Method::Post, "/apis/secret.grafana.app/v1beta1/namespaces/:ns/decrypt",
                     audited(DecryptBatch));
  router.AddDeferred(Method::Get, "/v1.0/secrets/:store/bulk", audited(DaprBulk));
  router.AddDeferred(Method::Get, "/v1.0/secrets/:store/:name", audited(DaprGet));
}

}  // namespace strongroom::api

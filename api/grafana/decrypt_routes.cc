// The decrypt endpoints (SPEC 6.2, issue 6): the only way a value leaves
// the appliance, for services over mutual TLS only.
//   POST /apis/secret.grafana.app/v1beta1/namespaces/{ns}/securevalues/{name}/decrypt
//   POST /apis/secret.grafana.app/v1beta1/namespaces/{ns}/decrypt   {"names": [...]}
//   GET  /v1.0/secrets/{store}/{name}    Dapr; {store} is the namespace
//   GET  /v1.0/secrets/{store}/bulk      Dapr; only what the caller may decrypt
// Each runs the decrypt pipeline (api/decrypt/decrypt.h); this file holds
// their read stage (what the path names, the permission, the records) and
// their format stage (the body of their API, a record per name).
// Checks run in SPEC 6.2's order: a verified service certificate (else
// 401), the decrypt permission in the namespace (else 403, whether or not
// the namespace or the secret exists), existence (404, Dapr 204), the
// secret's `decrypters` allowlist (403; an empty list allows nobody). Each
// name gets its own audit record with the detailed reason, durable before
// the response leaves.
#include <openssl/crypto.h>

#include <algorithm>

#include "api/auth/authorizer.h"
#include "api/core/api_context.h"
#include "api/core/errors.h"
#include "api/decrypt/decrypt.h"
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
DecryptTarget Decide(const Session& session, std::string_view ns, std::string name) {
  DecryptTarget target;
  StatusOr<bool> may =
      Authorize(*session.policy, session.txn, session.principal, {kAction, ns, name});
  if (!may.has_value() || !*may) {
    target.name = std::move(name);
    target.decision =
        may.has_value() ? Decision{Verdict::kNoPermission, "no_permission"} : Failed(may.error());
    return target;
  }
  StatusOr<storage::Record> raw =
      session.txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, name));
  if (!raw.has_value()) {
    target.name = std::move(name);
    if (raw.error().code() != StatusCode::kNotFound) {
      target.decision = Failed(raw.error());
      return target;
    }
    StatusOr<bool> known = NamespaceHasValues(session.txn, ns);
    target.decision = known.has_value() ? Decision{Verdict::kUnknown,
                                                   *known ? "unknown_secret" : "unknown_namespace"}
                                        : Failed(known.error());
    return target;
  }
  const std::string value_name = name;
  return OpenStoredValue(std::move(name), session.principal, ns, value_name, *raw);
}

// Forbidden is the one 403 message: the same whether the caller lacks the
// permission or is not on the allowlist, and never says whether the name
// exists.
std::string Forbidden(const Principal& service, std::string_view ns, std::string_view name) {
  return "service '" + service.name + "' may not decrypt securevalues \"" + std::string(name) +
         "\" in namespace \"" + std::string(ns) + "\"";
}

// NotFound is the one 404 message of a secure value.
std::string NotFound(std::string_view name) {
  return "securevalues \"" + std::string(name) + "\" not found";
}

// ValidPath validates the namespace (and name) from the path; an invalid
// one is kBadRequest with the rule it breaks, or with `invalid_path` when
// given (Dapr's client is told only "bad store name").
std::optional<ApiError> ValidPath(const DecryptRequest& request, bool with_name,
                                  std::string_view invalid_path = {}) {
  Status valid = ValidateNamespaceName(request.ns);
  if (valid.ok() && with_name) valid = ValidateObjectName(request.name, "name");
  if (valid.ok()) return std::nullopt;
  return ApiError::BadRequest(invalid_path.empty() ? valid.message() : std::string(invalid_path));
}

constexpr std::string_view kBadStoreName = "bad store name";

// ReadOne is the read stage of a single name (Grafana's and Dapr's).
std::optional<ApiError> ReadOne(DecryptRequest& request, std::string_view invalid_path) {
  if (auto bad = ValidPath(request, true, invalid_path)) return bad;
  request.targets.push_back(Decide(*request.session, request.ns, request.name));
  return std::nullopt;
}

std::optional<ApiError> ReadGrafanaOne(ApiContext&, DecryptRequest& request) {
  return ReadOne(request, {});
}

std::optional<ApiError> ReadDaprOne(ApiContext&, DecryptRequest& request) {
  return ReadOne(request, kBadStoreName);
}

ApiResult FormatGrafanaOne(ApiContext&, DecryptRequest& request) {
  const DecryptTarget& target = request.targets.front();
  const Decision& decision = target.decision;
  ApiResult answer = [&]() -> ApiResult {
    if (decision.verdict != Verdict::kAllowed) {
      return DecisionError(decision, Forbidden(request.session->principal, request.ns, target.name),
                           NotFound(target.name))
          .About(target.name, kKind);
    }
    std::string body;
    const std::string_view value = decision.value->RevealSecretAsString();
    body.reserve(32 + target.name.size() + value.size() + value.size() / 8);
    body += "{\"name\":";
    AppendJsonString(body, target.name);
    body += ",\"value\":";
    AppendJsonString(body, value);
    body += "}";
    return JsonResponse(Success::kOk, std::move(body));
  }();
  request.RecordName(target, answer, /*last=*/true);
  return answer;
}

// StoreNotFound is Dapr's answer for a namespace without secure values.
ApiError StoreNotFound(const std::string& ns) {
  return ApiError::BadRequest("secret store " + ns + " not found");
}

ApiResult FormatDaprOne(ApiContext&, DecryptRequest& request) {
  const DecryptTarget& target = request.targets.front();
  const Decision& decision = target.decision;
  ApiResult answer = [&]() -> ApiResult {
    if (decision.verdict == Verdict::kUnknown) {
      // Dapr: an unknown store is an error, an unknown secret an empty answer.
      if (decision.reason == "unknown_namespace") {
        return StoreNotFound(request.ns).WithAuditReason(decision.reason);
      }
      return EmptyResponse(Success::kNoContent);
    }
    if (decision.verdict != Verdict::kAllowed) {
      return DecisionError(decision, Forbidden(request.session->principal, request.ns, target.name),
                           NotFound(target.name));
    }
    std::string body;
    const std::string_view value = decision.value->RevealSecretAsString();
    body.reserve(16 + target.name.size() + value.size() + value.size() / 8);
    body += "{";
    AppendJsonString(body, target.name);
    body += ":";
    AppendJsonString(body, value);
    body += "}";
    return JsonResponse(Success::kOk, std::move(body));
  }();
  request.RecordName(target, answer, /*last=*/true);
  return answer;
}

std::optional<ApiError> ReadBatch(ApiContext&, DecryptRequest& request) {
  if (auto bad = ValidPath(request, false)) return bad;
  if (auto bad = RequireJson(*request.http)) return bad;
  StatusOr<std::vector<std::string>> names = BatchNames(request.http->body());
  if (!names.has_value()) return ApiError::BadRequest(names.error().message());
  request.targets.reserve(names->size());
  for (std::string& name : *names) {
    request.targets.push_back(Decide(*request.session, request.ns, std::move(name)));
  }
  return std::nullopt;
}

ApiResult FormatBatch(ApiContext&, DecryptRequest& request) {
  std::string body = "{\"results\":{";
  bool first = true;
  for (const DecryptTarget& target : request.targets) {
    const Decision& decision = target.decision;
    if (!first) body += ",";
    first = false;
    AppendJsonString(body, target.name);
    if (decision.verdict == Verdict::kAllowed) {
      body += ":{\"value\":";
      AppendJsonString(body, decision.value->RevealSecretAsString());
      body += "}";
      request.RecordName(target, Success::kOk);
    } else {
      // Each refused name says only its status and Kubernetes reason.
      ApiError error = DecisionError(decision, "", "");
      body += ":{\"error\":{\"code\":" + std::to_string(HttpStatusOf(error.reason)) +
              ",\"reason\":\"" + std::string(KubernetesReasonOf(error.reason)) + "\"}}";
      request.RecordName(target, error);
    }
  }
  body += "}}";
  return JsonResponse(Success::kOk, std::move(body));
}

std::optional<ApiError> ReadBulk(ApiContext& context, DecryptRequest& request) {
  if (auto bad = ValidPath(request, false, kBadStoreName)) return bad;
  const Session& session = *request.session;
  const std::string& ns = request.ns;
  StatusOr<bool> may =
      AuthorizeSomeName(*session.policy, session.txn, session.principal, kAction, ns);
  if (!may.has_value()) return ApiError::FromStatus(may.error());
  if (!*may) {
    return ApiError::Forbidden(Forbidden(session.principal, ns, "*"))
        .WithAuditReason("no_permission");
  }
  // The records the caller may decrypt: name-scoped permission and the
  // allowlist. Nothing is unsealed until the count is known to fit.
  bool any = false;
  Status scan_error = Status::Ok();
  const std::string prefix = storage::SecureValueKey(ns, "");
  Status scanned = session.txn.Scan(
      Table::kSecureValues, prefix, "", [&](std::string_view key, const storage::Record& raw) {
        any = true;
        std::string name(key.substr(prefix.size()));
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
          const std::string value_name = name;
          request.targets.push_back(
              SealTarget(std::move(name), ns, value_name, std::move(*record), raw.generation));
        }
        return true;
      });
  if (scanned.ok()) scanned = scan_error;
  if (!scanned.ok()) return ApiError::FromStatus(scanned);
  if (!any) return StoreNotFound(ns).WithAuditReason("unknown_namespace");
  if (request.targets.size() > context.max_bulk_secrets) {
    request.targets.clear();  // nothing is unsealed
    return ApiError::TooLarge("more than " + std::to_string(context.max_bulk_secrets) +
                              " secrets; read them one by one")
        .WithAuditReason("too_many_secrets");
  }
  return std::nullopt;
}

ApiResult FormatBulk(ApiContext&, DecryptRequest& request) {
  std::string body = "{";
  for (std::size_t i = 0; i < request.targets.size(); ++i) {
    const DecryptTarget& target = request.targets[i];
    const Decision& decision = target.decision;
    if (decision.verdict != Verdict::kAllowed) {
      // Checked when read; only a failure to unseal gets here. Nothing is
      // returned and every name unsealed before it is recorded.
      OPENSSL_cleanse(body.data(), body.size());
      ApiError error = DecisionError(decision, "", "");
      request.RecordName(target, error);
      return error;
    }
    request.RecordName(target, Success::kOk);
    if (i > 0) body += ",";
    AppendJsonString(body, target.name);
    body += ":{";
    AppendJsonString(body, target.name);
    body += ":";
    AppendJsonString(body, decision.value->RevealSecretAsString());
    body += "}";
  }
  body += "}";
  if (request.targets.empty()) request.scope.SetReason("nothing_permitted");
  return JsonResponse(Success::kOk, std::move(body));
}

constexpr DecryptEndpoint kGrafanaOne{.action = kAction,
                                      .kind = kKind,
                                      .namespace_param = "ns",
                                      .name_param = "name",
                                      .read = ReadGrafanaOne,
                                      .format = FormatGrafanaOne};
constexpr DecryptEndpoint kGrafanaBatch{.action = kAction,
                                        .kind = kKind,
                                        .namespace_param = "ns",
                                        .name_param = "",
                                        .read = ReadBatch,
                                        .format = FormatBatch};
constexpr DecryptEndpoint kDaprOne{.action = kAction,
                                   .kind = kKind,
                                   .namespace_param = "store",
                                   .name_param = "name",
                                   .read = ReadDaprOne,
                                   .format = FormatDaprOne};
constexpr DecryptEndpoint kDaprBulk{.action = kAction,
                                    .kind = kKind,
                                    .namespace_param = "store",
                                    .name_param = "",
                                    .read = ReadBulk,
                                    .format = FormatBulk};

}  // namespace

void AddDecryptRoutes(Router& router, ApiContext& context) {
  // Deferred: checked and unsealed on the I/O thread (no password hashing
  // here; a data key not in the cache suspends the request while the pool
  // unwraps it), answered when the records are group-committed.
  router.AddDeferred(Method::Post,
                     "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name/decrypt",
                     DecryptRoute(context, kGrafanaOne));
  router.AddDeferred(Method::Post, "/apis/secret.grafana.app/v1beta1/namespaces/:ns/decrypt",
                     DecryptRoute(context, kGrafanaBatch));
  router.AddDeferred(Method::Get, "/v1.0/secrets/:store/bulk", DecryptRoute(context, kDaprBulk));
  router.AddDeferred(Method::Get, "/v1.0/secrets/:store/:name", DecryptRoute(context, kDaprOne));
}

}  // namespace strongroom::api

// Resolving a Sensu secret (an extension; SPEC 6.3): over mutual TLS only,
//   GET /api/enterprise/secrets/v1/namespaces/{ns}/secrets/{name}/value
// answers {"value": "..."} under SPEC 6.2's rules and order: a verified
// service certificate (401), the `sensu.secrets:decrypt` permission on the
// name (403, whether or not it exists), existence (404), the secret's own
// `decrypters` when set (403), then the provider:
//  - `strongroom`: `spec.id` names a secure value of the namespace; the
//    caller needs `secret.securevalues:decrypt` on it (403, reason
//    no_value_permission, whether or not it exists), its own `decrypters`
//    apply (403) and its value is unsealed;
//  - `env`: the secret's own `decrypters` are required and the variable
//    must match the provider's `allow` list (403); the value is the
//    appliance's environment variable (not protected by the token).
// A provider that does not exist, or cannot resolve the id, answers 502
// naming it. Each resolve is audited like a decrypt, before the response.
// It runs the decrypt pipeline (api/decrypt/decrypt.h): this file holds its
// read stage (the checks and the provider) and its format stage.
#include <stdlib.h>

#include <algorithm>

#include "api/auth/authorizer.h"
#include "api/core/errors.h"
#include "api/decrypt/decrypt.h"
#include "api/sensu/sensu_json.h"
#include "api/sensu/sensu_routes.h"
#include "api/wire/k8s_names.h"
#include "base/json_text.h"
#include "base/utf8.h"
#include "storage/secure_value_record.h"
#include "storage/sensu_provider_record.h"
#include "storage/sensu_secret_record.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using storage::Table;

constexpr std::string_view kAction = "sensu.secrets:decrypt";
constexpr std::string_view kValueAction = "secret.securevalues:decrypt";
constexpr std::string_view kKind = "sensu.secrets";
constexpr std::size_t kMaxValueBytes = 24576;

DecryptTarget Decided(std::string name, Decision decision) {
  DecryptTarget target;
  target.name = std::move(name);
  target.decision = std::move(decision);
  return target;
}

DecryptTarget Unresolved(std::string name, std::string reason, std::string message) {
  DecryptTarget target = Decided(
      std::move(name),
      Decision{Verdict::kError, std::move(reason), std::nullopt, Status::Unavailable(message)});
  target.provider_problem = std::move(message);
  return target;
}

bool Lists(const std::vector<std::string>& decrypters, const std::string& service) {
  return std::find(decrypters.begin(), decrypters.end(), service) != decrypters.end();
}

DecryptTarget FromStrongroom(const Session& session, std::string name,
                             const storage::SensuSecretRecord& secret) {
  const std::string& ns = secret.namespace_name;
  const std::string who = "provider \"" + secret.provider + "\"";
  if (!ValidateObjectName(secret.id, "spec.id").ok()) {
    return Unresolved(std::move(name), "provider_unresolved",
                      who + " cannot resolve the secret's id");
  }
  // SECURITY: this decrypts the secure value `spec.id`, so SPEC 7's decrypt
  // rule applies to it as to a direct decrypt: the caller needs
  // `secret.securevalues:decrypt` on that name (name scopes honoured), not
  // only `sensu.secrets:decrypt` on the Sensu secret; otherwise anyone who
  // may write a Sensu secret could point it at any value of the namespace.
  // Checked before the value is looked up, so a refusal (403) says nothing
  // about whether the value exists.
  StatusOr<bool> may_decrypt =
      Authorize(*session.policy, session.txn, session.principal, {kValueAction, ns, secret.id});
  if (!may_decrypt.has_value()) return Decided(std::move(name), Failed(may_decrypt.error()));
  if (!*may_decrypt) {
    return Decided(std::move(name), Decision{Verdict::kNoPermission, "no_value_permission"});
  }
  StatusOr<storage::Record> raw =
      session.txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, secret.id));
  if (!raw.has_value()) {
    if (raw.error().code() != StatusCode::kNotFound) {
      return Decided(std::move(name), Failed(raw.error()));
    }
    return Unresolved(
        std::move(name), "provider_unresolved",
        who + " has no secure value \"" + secret.id + "\" in namespace \"" + ns + "\"");
  }
  return OpenStoredValue(std::move(name), session.principal, ns, secret.id, *raw);
}

DecryptTarget FromEnv(std::string name, const storage::SensuSecretRecord& secret,
                      const storage::SensuProviderRecord& provider) {
  // SECURITY: the environment is not the token's; only what a server admin
  // allowed, and only for services the secret itself lists.
  if (!secret.decrypters) {
    return Decided(std::move(name), Decision{Verdict::kNotOnAllowlist, "empty_allowlist"});
  }
  if (!EnvAllowed(provider.allow, secret.id)) {
    return Decided(std::move(name), Decision{Verdict::kNotOnAllowlist, "env_not_allowed"});
  }
  const char* value = ::secure_getenv(secret.id.c_str());
  const std::string who = "provider \"" + secret.provider + "\"";
  if (value == nullptr) {
    return Unresolved(std::move(name), "provider_unresolved",
                      who + " has no variable \"" + secret.id + "\"");
  }
  std::string_view text(value);
  if (text.size() > kMaxValueBytes || !IsValidUtf8(text)) {
    return Unresolved(std::move(name), "provider_unresolved",
                      who + ": variable \"" + secret.id + "\" is not UTF-8 of at most 24576 bytes");
  }
  StatusOr<SecretBytes> copied = SecretBytes::CopyFrom(text);
  if (!copied.has_value()) return Decided(std::move(name), Failed(copied.error()));
  return Decided(std::move(name), Decision{Verdict::kAllowed, "ok", std::move(*copied)});
}

// Resolve runs the checks after the certificate.
DecryptTarget Resolve(const Session& session, const std::string& ns, std::string name) {
  StatusOr<bool> may =
      Authorize(*session.policy, session.txn, session.principal, {kAction, ns, name});
  if (!may.has_value()) return Decided(std::move(name), Failed(may.error()));
  if (!*may) return Decided(std::move(name), Decision{Verdict::kNoPermission, "no_permission"});
  StatusOr<storage::Record> raw =
      session.txn.Get(Table::kSensuSecrets, storage::SensuSecretKey(ns, name));
  if (!raw.has_value()) {
    if (raw.error().code() != StatusCode::kNotFound)
      return Decided(std::move(name), Failed(raw.error()));
    return Decided(std::move(name), Decision{Verdict::kUnknown, "unknown_secret"});
  }
  StatusOr<storage::SensuSecretRecord> secret = storage::DecodeSensuSecretRecord(raw->value);
  if (!secret.has_value()) return Decided(std::move(name), Failed(secret.error()));
  if (secret->decrypters) {
    if (secret->decrypters->empty()) {
      return Decided(std::move(name), Decision{Verdict::kNotOnAllowlist, "empty_allowlist"});
    }
    if (!Lists(*secret->decrypters, session.principal.name)) {
      return Decided(std::move(name), Decision{Verdict::kNotOnAllowlist, "not_on_allowlist"});
    }
  }
  if (secret->provider == kBuiltInProvider)
    return FromStrongroom(session, std::move(name), *secret);
  StatusOr<storage::Record> stored = session.txn.Get(Table::kSensuProviders, secret->provider);
  if (!stored.has_value()) {
    if (stored.error().code() != StatusCode::kNotFound) {
      return Decided(std::move(name), Failed(stored.error()));
    }
    return Unresolved(std::move(name), "unknown_provider",
                      "provider \"" + secret->provider + "\" does not exist");
  }
  StatusOr<storage::SensuProviderRecord> provider =
      storage::DecodeSensuProviderRecord(stored->value);
  if (!provider.has_value()) return Decided(std::move(name), Failed(provider.error()));
  if (provider->type == kProviderTypeStrongroom) {
    return FromStrongroom(session, std::move(name), *secret);
  }
  if (provider->type == kProviderTypeEnv) return FromEnv(std::move(name), *secret, *provider);
  return Unresolved(std::move(name), "unknown_provider",
                    "provider \"" + secret->provider + "\" has an unknown type");
}

std::optional<ApiError> ReadResolve(ApiContext&, DecryptRequest& request) {
  if (Status valid = ValidateNamespaceName(request.ns); !valid.ok()) {
    return ApiError::BadRequest(valid.message());
  }
  if (Status valid = ValidateSensuName(request.name, "name"); !valid.ok()) {
    return ApiError::BadRequest(valid.message());
  }
  request.targets.push_back(Resolve(*request.session, request.ns, request.name));
  return std::nullopt;
}

ApiResult FormatResolve(ApiContext&, DecryptRequest& request) {
  const DecryptTarget& target = request.targets.front();
  const Decision& decision = target.decision;
  ApiResult answer = [&]() -> ApiResult {
    // A provider's failure is the upstream's: 502, naming it.
    if (!target.provider_problem.empty()) {
      return ApiError::BadGateway(target.provider_problem).WithAuditReason(decision.reason);
    }
    if (decision.verdict != Verdict::kAllowed) {
      return DecisionError(decision,
                           "service '" + request.session->principal.name +
                               "' may not resolve secret \"" + target.name + "\" in namespace \"" +
                               request.ns + "\"",
                           "secret \"" + target.name + "\" not found");
    }
    std::string body = "{\"value\":";
    AppendJsonString(body, decision.value->RevealSecretAsString());
    body += "}";
    return JsonResponse(Success::kOk, std::move(body));
  }();
  request.RecordName(target, answer, /*last=*/true);
  return answer;
}

constexpr DecryptEndpoint kResolve{.action = kAction,
                                   .kind = kKind,
                                   .namespace_param = "ns",
                                   .name_param = "name",
                                   .read = ReadResolve,
                                   .format = FormatResolve};

}  // namespace

void AddSensuResolveRoute(Router& router, ApiContext& context) {
  // Deferred, like every decrypt: answered once its record is durable.
  router.AddDeferred(Method::Get, "/api/enterprise/secrets/v1/namespaces/:ns/secrets/:name/value",
                     DecryptRoute(context, kResolve));
}

}  // namespace strongroom::api

// The Sensu secrets API (SPEC 6.3, the Sensu seed) under
// /api/enterprise/secrets/v1/namespaces/{ns}/secrets: list (a JSON array,
// with labelSelector / fieldSelector filtering and limit / continue
// paging, the cursor in the Sensu-Continue header), get, PUT
// create-or-update (201) and DELETE (204). A Sensu secret is a reference
// (provider, id); its value is read only by resolving it over mutual TLS
// (sensu_resolve_route.cc). metadata.created_by is always the actor.
#include "api/auth/authorizer.h"
#include "api/core/api_context.h"
#include "api/sensu/sensu_json.h"
#include "api/sensu/sensu_routes.h"
#include "api/wire/k8s_names.h"
#include "api/wire/sensu_selector.h"
#include "storage/sensu_provider_record.h"
#include "storage/sensu_secret_record.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using storage::Table;

constexpr std::string_view kCollection = "/api/enterprise/secrets/v1/namespaces/:ns/secrets";
constexpr std::string_view kItem = "/api/enterprise/secrets/v1/namespaces/:ns/secrets/:name";
constexpr std::string_view kKind = "sensu.secrets";
constexpr std::size_t kMaxListLimit = 500;
constexpr std::string_view kFields[] = {"secret.name", "secret.provider"};

ApiError NotFound(const HttpRequest& request) {
  return ApiError::NotFound("secret \"" + std::string(request.Param("name")) + "\" not found");
}

using Begun = NamespacedSession;

// Begin starts a request on Sensu secrets (StartNamespaced).
ApiOr<Begun> Begin(ApiContext& context, HttpRequest& request, AuditScope& scope,
                   std::string_view action, bool with_name, std::string_view audit_action = {}) {
  return StartNamespaced(context, request, scope,
                         {action, audit_action, kKind, with_name, ValidateSensuName});
}

StatusOr<storage::SensuSecretRecord> Load(const storage::ReadTxn& txn, std::string_view ns,
                                          std::string_view name) {
  SR_ASSIGN_OR_RETURN(storage::Record raw,
                      txn.Get(Table::kSensuSecrets, storage::SensuSecretKey(ns, name)));
  return storage::DecodeSensuSecretRecord(raw.value);
}

ApiResult Get(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.secrets:read", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = (*begun);
  StatusOr<storage::SensuSecretRecord> record = Load(session.txn, ns, name);
  if (!record.has_value()) {
    if (record.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ApiError::FromStatus(record.error());
  }
  return JsonResponse(Success::kOk, RenderSensuSecret(*record));
}

// Selector parses one of the filtering parameters.
StatusOr<SensuSelector> Selector(const HttpRequest& request, const std::string& parameter,
                                 std::span<const std::string_view> fields) {
  SR_ASSIGN_OR_RETURN(std::optional<std::string> text, QueryParam(request, parameter));
  StatusOr<SensuSelector> selector = SensuSelector::Parse(text.value_or(""), fields);
  if (!selector.has_value()) {
    return std::unexpected(Status::InvalidArgument(parameter + ": " + selector.error().message()));
  }
  return selector;
}

ApiResult List(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.secrets:read", false, "sensu.secrets:list");
  if (!begun.has_value()) return begun.error();
  Session& session = (*begun).session;
  const std::string& ns = (*begun).ns;
  auto bad_query = [&](const Status& status) { return ApiError::BadRequest(status.message()); };
  StatusOr<SensuSelector> labels = Selector(request, "labelSelector", {});
  if (!labels.has_value()) return bad_query(labels.error());
  StatusOr<SensuSelector> fields = Selector(request, "fieldSelector", kFields);
  if (!fields.has_value()) return bad_query(fields.error());
  StatusOr<std::size_t> limit = ListLimit(request, kMaxListLimit);
  if (!limit.has_value()) return bad_query(limit.error());
  StatusOr<std::string> after = ListAfter(context, request, kKind, ns);
  if (!after.has_value()) return bad_query(after.error());

  std::vector<storage::SensuSecretRecord> items;
  std::string last_name;
  bool more = false;
  Status failure = Status::Ok();
  const std::string prefix = storage::SensuSecretKey(ns, "");
  Status scanned = session.txn.Scan(
      Table::kSensuSecrets, prefix, after->empty() ? "" : storage::SensuSecretKey(ns, *after),
      [&](std::string_view, const storage::Record& raw) {
        StatusOr<storage::SensuSecretRecord> record = storage::DecodeSensuSecretRecord(raw.value);
        if (!record.has_value()) {
          failure = record.error();
          return false;
        }
        const storage::SensuSecretRecord& r = *record;
        bool selected =
            labels->Matches([&](std::string_view key) -> std::optional<std::string_view> {
              for (const auto& [k, v] : r.labels) {
                if (k == key) return v;
              }
              return std::nullopt;
            });
        selected = selected && fields->Matches([&](std::string_view key) {
          return std::optional<std::string_view>(key == "secret.name" ? r.name : r.provider);
        });
        if (!selected) return true;
        StatusOr<bool> visible = Authorize(*session.policy, session.txn, session.principal,
                                           {"sensu.secrets:read", ns, r.name});
        if (!visible.has_value()) {
          failure = visible.error();
          return false;
        }
        if (!*visible) return true;
        if (items.size() == *limit) {
          more = true;
          return false;
        }
        last_name = r.name;
        items.push_back(std::move(*record));
        return true;
      });
  if (scanned.ok()) scanned = failure;
  if (!scanned.ok()) return ApiError::FromStatus(scanned);
  HttpResponse response = JsonResponse(Success::kOk, RenderSensuSecretList(items));
  if (more)
    response.headers.emplace_back("Sensu-Continue", context.cursors.Encode(kKind, ns, last_name));
  return response;
}

// CheckReference refuses, at write time, what can already be known wrong:
// an `env` provider needs the secret's own decrypters; a `strongroom` one
// needs an id that can name a secure value. A provider that does not exist
// yet is accepted, as Sensu does: resolving fails until it exists.
std::optional<ApiError> CheckReference(const storage::ReadTxn& txn, const SensuSecretInput& input) {
  std::string type;
  if (input.provider == kBuiltInProvider) {
    type = kProviderTypeStrongroom;
  } else {
    StatusOr<storage::Record> raw = txn.Get(Table::kSensuProviders, input.provider);
    if (!raw.has_value()) {
      if (raw.error().code() == StatusCode::kNotFound) return std::nullopt;
      return ApiError::FromStatus(raw.error());
    }
    StatusOr<storage::SensuProviderRecord> provider =
        storage::DecodeSensuProviderRecord(raw->value);
    if (!provider.has_value()) return ApiError::FromStatus(provider.error());
    type = provider->type;
  }
  if (type == kProviderTypeEnv && (!input.decrypters || input.decrypters->empty())) {
    return ApiError::BadRequest("spec.decrypters is required for a secret of the env provider \"" +
                                input.provider + "\"");
  }
  if (type == kProviderTypeStrongroom) {
    if (Status id = ValidateObjectName(input.id, "spec.id"); !id.ok()) {
      return ApiError::BadRequest(id.message() + " (it names a secure value)");
    }
  }
  return std::nullopt;
}

ApiResult Put(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.secrets:write", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = (*begun);
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<SensuSecretInput> input = ParseSensuSecret(request.body(), ns, name);
  if (!input.has_value()) return ApiError::BadRequest(input.error().message());
  if (auto bad = CheckReference(session.txn, *input)) return *bad;
  storage::SensuSecretRecord record;
  record.namespace_name = ns;
  record.name = name;
  record.id = input->id;
  record.provider = input->provider;
  record.labels = std::move(input->labels);
  record.annotations = std::move(input->annotations);
  record.decrypters = std::move(input->decrypters);
  record.created_by = session.principal.name;
  record.updated_micros = UnixMicros(context.clock.Now());
  const std::string key = storage::SensuSecretKey(ns, name);
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, Success::kCreated, [&](storage::WriteTxn& txn) -> Status {
        record.resource_version = txn.resource_version();
        return ToStatus(
            txn.Put(Table::kSensuSecrets, key, storage::EncodeSensuSecretRecord(record)));
      });
  if (!written.has_value()) return ApiError::FromStatus(written.error());
  return EmptyResponse(Success::kCreated);
}

ApiResult Delete(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.secrets:delete", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = (*begun);
  const std::string key = storage::SensuSecretKey(ns, name);
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, Success::kNoContent,
                   [&](storage::WriteTxn& txn) { return txn.Delete(Table::kSensuSecrets, key); });
  if (!written.has_value()) {
    if (written.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ApiError::FromStatus(written.error());
  }
  return EmptyResponse(Success::kNoContent);
}

}  // namespace

void AddSensuSecretRoutes(Router& router, ApiContext& context) {
  // Blocking: Basic auth may need scrypt. Every request is audited.
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  router.Add(Method::Get, kCollection, Execution::kBlocking, audited(List));
  router.Add(Method::Get, kItem, Execution::kBlocking, audited(Get));
  router.Add(Method::Put, kItem, Execution::kBlocking, audited(Put));
  router.Add(Method::Delete, kItem, Execution::kBlocking, audited(Delete));
}

}  // namespace strongroom::api

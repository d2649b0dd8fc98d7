// Sensu secrets providers (SPEC 6.3) under
// /api/enterprise/secrets/v1/providers[/{name}]: list, get, PUT
// create-or-update (201) and DELETE (204). Providers are cluster-wide, as
// in Sensu: reading them needs `sensu.providers:read` and changing them
// `sensu.providers:write`, both granted on namespace "*" (server admins).
// The built-in `strongroom` provider is always listed and cannot be
// changed; an `env` provider makes the appliance's environment variables
// that match its `allow` list resolvable (off until one exists).
#include <algorithm>

#include "api/core/api_context.h"
#include "api/sensu/sensu_json.h"
#include "api/sensu/sensu_routes.h"
#include "storage/sensu_provider_record.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using storage::Table;

constexpr std::string_view kCollection = "/api/enterprise/secrets/v1/providers";
constexpr std::string_view kItem = "/api/enterprise/secrets/v1/providers/:name";
constexpr std::string_view kKind = "sensu.providers";

storage::SensuProviderRecord BuiltIn() {
  storage::SensuProviderRecord record;
  record.name = std::string(kBuiltInProvider);
  record.type = std::string(kProviderTypeStrongroom);
  return record;
}

ApiError NotFound(const HttpRequest& request) {
  return ApiError::NotFound("provider \"" + std::string(request.Param("name")) + "\" not found");
}

// Begin authenticates, validates the name (if any) and checks `action`.
ApiOr<Session> Begin(ApiContext& context, HttpRequest& request, AuditScope& scope,
                     std::string_view action, bool with_name, std::string_view audit_action = {}) {
  scope.Describe(audit_action.empty() ? action : audit_action, "", kKind,
                 with_name ? request.Param("name") : "");
  auto started = StartSession(context, request, &scope);
  if (!started.has_value()) return started;
  if (with_name) {
    if (Status name = ValidateSensuName(request.Param("name"), "name"); !name.ok()) {
      return std::unexpected(ApiError::BadRequest(name.message()));
    }
  }
  if (auto denied = Check(context, request, *started, {action, "*", ""})) {
    return std::unexpected(*denied);
  }
  return started;
}

ApiResult List(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun =
      Begin(context, request, scope, "sensu.providers:read", false, "sensu.providers:list");
  if (!begun.has_value()) return begun.error();
  const Session& session = (*begun);
  std::vector<storage::SensuProviderRecord> providers = {BuiltIn()};
  Status failure = Status::Ok();
  Status scanned = session.txn.Scan(Table::kSensuProviders, "", "",
                                    [&](std::string_view, const storage::Record& raw) {
                                      auto record = storage::DecodeSensuProviderRecord(raw.value);
                                      if (!record.has_value()) {
                                        failure = record.error();
                                        return false;
                                      }
                                      providers.push_back(std::move(*record));
                                      return true;
                                    });
  if (scanned.ok()) scanned = failure;
  if (!scanned.ok()) return ApiError::FromStatus(scanned);
  std::sort(providers.begin(), providers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return JsonResponse(Success::kOk, RenderSensuProviderList(providers));
}

ApiResult Get(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.providers:read", true);
  if (!begun.has_value()) return begun.error();
  const Session& session = (*begun);
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return JsonResponse(Success::kOk, RenderSensuProvider(BuiltIn()));
  StatusOr<storage::Record> raw = session.txn.Get(Table::kSensuProviders, name);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ApiError::FromStatus(raw.error());
  }
  StatusOr<storage::SensuProviderRecord> record = storage::DecodeSensuProviderRecord(raw->value);
  if (!record.has_value()) return ApiError::FromStatus(record.error());
  return JsonResponse(Success::kOk, RenderSensuProvider(*record));
}

ApiError RefuseBuiltIn() {
  return ApiError::BadRequest("the built-in provider \"strongroom\" cannot be changed or deleted");
}

ApiResult Put(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.providers:write", true);
  if (!begun.has_value()) return begun.error();
  const Session& session = (*begun);
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return RefuseBuiltIn();
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<SensuProviderInput> input = ParseSensuProvider(request.body(), name);
  if (!input.has_value()) return ApiError::BadRequest(input.error().message());
  storage::SensuProviderRecord record;
  record.name = name;
  record.type = std::move(input->type);
  record.allow = std::move(input->allow);
  record.created_by = session.principal.name;
  record.updated_micros = UnixMicros(context.clock.Now());
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, Success::kCreated, [&](storage::WriteTxn& txn) -> Status {
        record.resource_version = txn.resource_version();
        return ToStatus(
            txn.Put(Table::kSensuProviders, name, storage::EncodeSensuProviderRecord(record)));
      });
  if (!written.has_value()) return ApiError::FromStatus(written.error());
  return EmptyResponse(Success::kCreated);
}

ApiResult Delete(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun =
      Begin(context, request, scope, "sensu.providers:write", true, "sensu.providers:delete");
  if (!begun.has_value()) return begun.error();
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return RefuseBuiltIn();
  StatusOr<storage::WriteReceipt> written = AuditedWrite(
      context, scope, Success::kNoContent,
      [&](storage::WriteTxn& txn) { return txn.Delete(Table::kSensuProviders, name); });
  if (!written.has_value()) {
    if (written.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ApiError::FromStatus(written.error());
  }
  return EmptyResponse(Success::kNoContent);
}

}  // namespace

void AddSensuProviderRoutes(Router& router, ApiContext& context) {
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  router.Add(Method::Get, kCollection, Execution::kBlocking, audited(List));
  router.Add(Method::Get, kItem, Execution::kBlocking, audited(Get));
  router.Add(Method::Put, kItem, Execution::kBlocking, audited(Put));
  router.Add(Method::Delete, kItem, Execution::kBlocking, audited(Delete));
}

}  // namespace strongroom::api

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

HttpResponse NotFound(const HttpRequest& request) {
  return ErrorResponse(request.path, 404,
                       "provider \"" + std::string(request.Param("name")) + "\" not found");
}

// Begin authenticates, validates the name (if any) and checks `action`.
std::variant<Session, HttpResponse> Begin(ApiContext& context, HttpRequest& request,
                                          AuditScope& scope, std::string_view action,
                                          bool with_name, std::string_view audit_action = {}) {
  scope.Describe(audit_action.empty() ? action : audit_action, "", kKind,
                 with_name ? request.Param("name") : "");
  auto started = StartSession(context, request, &scope);
  if (std::holds_alternative<HttpResponse>(started)) return started;
  if (with_name) {
    if (Status name = ValidateSensuName(request.Param("name"), "name"); !name.ok()) {
      return ErrorResponse(request.path, 400, name.message());
    }
  }
  if (auto denied = Check(context, request, std::get<Session>(started), {action, "*", ""})) {
    return *denied;
  }
  return started;
}

HttpResponse List(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun =
      Begin(context, request, scope, "sensu.providers:read", false, "sensu.providers:list");
  if (auto* response = std::get_if<HttpResponse>(&begun)) return *response;
  const Session& session = std::get<Session>(begun);
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
  if (!scanned.ok()) return ErrorFromStatus(request.path, scanned, request.request_id);
  std::sort(providers.begin(), providers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return JsonResponse(200, RenderSensuProviderList(providers));
}

HttpResponse Get(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.providers:read", true);
  if (auto* response = std::get_if<HttpResponse>(&begun)) return *response;
  const Session& session = std::get<Session>(begun);
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return JsonResponse(200, RenderSensuProvider(BuiltIn()));
  StatusOr<storage::Record> raw = session.txn.Get(Table::kSensuProviders, name);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ErrorFromStatus(request.path, raw.error(), request.request_id);
  }
  StatusOr<storage::SensuProviderRecord> record = storage::DecodeSensuProviderRecord(raw->value);
  if (!record.has_value()) return ErrorFromStatus(request.path, record.error(), request.request_id);
  return JsonResponse(200, RenderSensuProvider(*record));
}

HttpResponse RefuseBuiltIn(const HttpRequest& request) {
  return ErrorResponse(request.path, 400,
                       "the built-in provider \"strongroom\" cannot be changed or deleted");
}

HttpResponse Put(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "sensu.providers:write", true);
  if (auto* response = std::get_if<HttpResponse>(&begun)) return *response;
  const Session& session = std::get<Session>(begun);
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return RefuseBuiltIn(request);
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<SensuProviderInput> input = ParseSensuProvider(request.body(), name);
  if (!input.has_value()) return ErrorResponse(request.path, 400, input.error().message());
  storage::SensuProviderRecord record;
  record.name = name;
  record.type = std::move(input->type);
  record.allow = std::move(input->allow);
  record.created_by = session.principal.name;
  record.updated_micros = UnixMicros(context.clock.Now());
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, 201, [&](storage::WriteTxn& txn) -> Status {
        record.resource_version = txn.resource_version();
        return ToStatus(
            txn.Put(Table::kSensuProviders, name, storage::EncodeSensuProviderRecord(record)));
      });
  if (!written.has_value())
    return ErrorFromStatus(request.path, written.error(), request.request_id);
  return EmptyResponse(201);
}

HttpResponse Delete(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun =
      Begin(context, request, scope, "sensu.providers:write", true, "sensu.providers:delete");
  if (auto* response = std::get_if<HttpResponse>(&begun)) return *response;
  const std::string name(request.Param("name"));
  if (name == kBuiltInProvider) return RefuseBuiltIn(request);
  StatusOr<storage::WriteReceipt> written = AuditedWrite(
      context, scope, 204,
      [&](storage::WriteTxn& txn) { return txn.Delete(Table::kSensuProviders, name); });
  if (!written.has_value()) {
    if (written.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ErrorFromStatus(request.path, written.error(), request.request_id);
  }
  return EmptyResponse(204);
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

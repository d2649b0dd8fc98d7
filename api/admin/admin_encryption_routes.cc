// Key-lifecycle endpoints (SPEC 6.4), server admins only: users with
// server-admin rights through Basic auth or a client certificate mapped to
// them. API tokens get 403 on /api/admin/*.
#include <nlohmann/json.hpp>

#include "api/admin/admin_routes.h"
#include "api/core/api_context.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

using Operation = std::function<ApiResult(ApiContext&, const HttpRequest&)>;

// The batch size of a re-encryption pass (secrets per write transaction).
constexpr std::size_t kReencryptBatch = 100;

// AddAdmin registers one key-lifecycle operation, audited as
// "keys:<last path segment>" (the keyring's own store writes are recorded
// too, as system events named by their tag).
void AddAdmin(Router& router, ApiContext& context, std::string_view path, Operation operation) {
  ApiContext* c = &context;
  std::string action = "keys:" + std::string(path.substr(path.rfind('/') + 1));
  router.Add(
      Method::Post, path, Execution::kBlocking,
      AuditedRoute(context,
                   [c, operation, action](HttpRequest& request, AuditScope& scope) -> ApiResult {
                     scope.Describe(action, "", "encryption", "");
                     auto started = StartAdminSession(*c, request, scope, "keys:rotate");
                     if (!started.has_value()) return started.error();
                     return operation(*c, request);
                   }));
}

}  // namespace

void AddAdminEncryptionRoutes(Router& router, ApiContext& context) {
  AddAdmin(router, context, "/api/admin/encryption/rotate-data-keys",
           [](ApiContext& c, const HttpRequest&) -> ApiResult {
             StatusOr<std::size_t> rotated = c.keyring.RotateDataKeys();
             if (!rotated.has_value()) return ApiError::FromStatus(rotated.error());
             // A 204 that still names application/json, as it always has.
             return JsonResponse(Success::kNoContent, "");
           });
  AddAdmin(router, context, "/api/admin/encryption/reencrypt-data-keys",
           [](ApiContext& c, const HttpRequest&) -> ApiResult {
             StatusOr<crypto::RewrapReport> report = c.keyring.RewrapDataKeys();
             if (!report.has_value()) return ApiError::FromStatus(report.error());
             return JsonResponse(Success::kOk, json{{"message", "Data keys re-encrypted"},
                                                    {"rewrapped", report->rewrapped},
                                                    {"alreadyCurrent", report->already_current}}
                                                   .dump());
           });
  AddAdmin(router, context, "/api/admin/encryption/reencrypt-secrets",
           [](ApiContext& c, const HttpRequest&) -> ApiResult {
             StatusOr<crypto::ReencryptReport> report = c.keyring.ReencryptSecrets(kReencryptBatch);
             if (!report.has_value()) return ApiError::FromStatus(report.error());
             return JsonResponse(Success::kOk,
                                 json{{"message", "Secrets re-encrypted"},
                                      {"scanned", report->scanned},
                                      {"reencrypted", report->reencrypted},
                                      {"alreadyCurrent", report->already_current},
                                      {"changedConcurrently", report->changed_concurrently},
                                      {"batches", report->batches}}
                                     .dump());
           });
  AddAdmin(router, context, "/api/admin/encryption/rotate-kek",
           [](ApiContext& c, const HttpRequest&) -> ApiResult {
             StatusOr<crypto::KekRotationReport> report = c.keyring.RotateKek();
             if (!report.has_value()) return ApiError::FromStatus(report.error());
             return JsonResponse(Success::kOk,
                                 json{{"message", "Key encryption key rotated"},
                                      {"oldKekId", report->old_kek_id},
                                      {"newKekId", report->new_kek_id},
                                      {"rewrapped", report->rewrap.rewrapped},
                                      {"unreferencedKekIds", report->unreferenced_kek_ids}}
                                     .dump());
           });
}

}  // namespace strongroom::api

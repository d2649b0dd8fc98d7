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

using Operation = std::function<HttpResponse(ApiContext&, const HttpRequest&)>;

// AddAdmin registers one key-lifecycle operation, audited as
// "keys:<last path segment>" (the keyring's own store writes are recorded
// too, as system events named by their tag).
void AddAdmin(Router& router, ApiContext& context, std::string_view path, Operation operation) {
  ApiContext* c = &context;
  std::string action = "keys:" + std::string(path.substr(path.rfind('/') + 1));
  router.Add(Method::Post, path, Execution::kBlocking,
             AuditedRoute(context, [c, operation, action](HttpRequest& request, AuditScope& scope) {
               scope.Describe(action, "", "encryption", "");
               auto started = StartAdminSession(*c, request, scope, "keys:rotate");
               if (auto* response = std::get_if<HttpResponse>(&started)) return *response;
               return operation(*c, request);
             }));
}

}  // namespace

void AddAdminEncryptionRoutes(Router& router, ApiContext& context) {
  AddAdmin(router, context, "/api/admin/encryption/rotate-data-keys",
           [](ApiContext& c, const HttpRequest& request) {
             StatusOr<std::size_t> rotated = c.keyring.RotateDataKeys();
             if (!rotated.has_value())
               return ErrorFromStatus(request.path, rotated.error(), request.request_id);
             HttpResponse response;
             response.status = 204;
             response.content_type = "application/json";
             return response;
           });
  AddAdmin(router, context, "/api/admin/encryption/reencrypt-data-keys",
           [](ApiContext& c, const HttpRequest& request) {
             StatusOr<crypto::RewrapReport> report = c.keyring.RewrapDataKeys();
             if (!report.has_value())
               return ErrorFromStatus(request.path, report.error(), request.request_id);
             return JsonResponse(200, json{{"message", "Data keys re-encrypted"},
                                           {"rewrapped", report->rewrapped},
                                           {"alreadyCurrent", report->already_current}}
                                          .dump());
           });
  AddAdmin(router, context, "/api/admin/encryption/reencrypt-secrets",
           [](ApiContext& c, const HttpRequest& request) {
             StatusOr<crypto::ReencryptReport> report = c.keyring.ReencryptSecrets(100);
             if (!report.has_value())
               return ErrorFromStatus(request.path, report.error(), request.request_id);
             return JsonResponse(200, json{{"message", "Secrets re-encrypted"},
                                           {"scanned", report->scanned},
                                           {"reencrypted", report->reencrypted},
                                           {"alreadyCurrent", report->already_current},
                                           {"changedConcurrently", report->changed_concurrently},
                                           {"batches", report->batches}}
                                          .dump());
           });
  AddAdmin(router, context, "/api/admin/encryption/rotate-kek",
           [](ApiContext& c, const HttpRequest& request) {
             StatusOr<crypto::KekRotationReport> report = c.keyring.RotateKek();
             if (!report.has_value())
               return ErrorFromStatus(request.path, report.error(), request.request_id);
             return JsonResponse(200, json{{"message", "Key encryption key rotated"},
                                           {"oldKekId", report->old_kek_id},
                                           {"newKekId", report->new_kek_id},
                                           {"rewrapped", report->rewrap.rewrapped},
                                           {"unreferencedKekIds", report->unreferenced_kek_ids}}
                                          .dump());
           });
}

}  // namespace strongroom::api

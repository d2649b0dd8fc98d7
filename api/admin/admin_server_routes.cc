// Server-wide endpoints of the Grafana admin API (SPEC 6.4): stats,
// settings, access-control provisioning reload, and the seed's endpoints
// that have no meaning here, which answer 404 with the reason. Server
// admins only (StartAdminSession); each route checks its own action from
// policies/actions.cc and is audited under it.
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "api/admin/admin_routes.h"
#include "api/core/api_context.h"
#include "api/core/log.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

// CountRecords counts the records of `table` in the snapshot (each one's
// MAC is checked on the way, as on every read).
StatusOr<std::uint64_t> CountRecords(const storage::ReadTxn& txn, storage::Table table) {
  std::uint64_t count = 0;
  SR_RETURN_IF_ERROR(txn.Scan(table, "", "", [&](std::string_view, const storage::Record&) {
    ++count;
    return true;
  }));
  return count;
}

// Stats gathers the counts of GET /api/admin/stats from one snapshot
// (and the keyring's and audit log's own views).
StatusOr<json> Stats(ApiContext& context, const storage::ReadTxn& txn) {
  using storage::Table;
  json stats = json::object();
  for (auto [name, table] : {std::pair<const char*, Table>{"secureValues", Table::kSecureValues},
                             {"sensuSecrets", Table::kSensuSecrets},
                             {"sensuProviders", Table::kSensuProviders}}) {
    SR_ASSIGN_OR_RETURN(std::uint64_t count, CountRecords(txn, table));
    stats[name] = count;
  }
  SR_ASSIGN_OR_RETURN(std::vector<storage::UserRecord> users, accounts::ListUsers(txn));
  SR_ASSIGN_OR_RETURN(std::vector<storage::TokenRecord> tokens, accounts::ListTokens(txn));
  const std::int64_t now = UnixMicros(context.clock.Now());
  stats["users"] = users.size();
  stats["serverAdmins"] =
      std::count_if(users.begin(), users.end(), [](const auto& user) { return user.server_admin; });
  stats["tokens"] = tokens.size();
  stats["activeTokens"] = std::count_if(tokens.begin(), tokens.end(), [now](const auto& token) {
    return token.revoked_micros == 0 && (token.expires_micros == 0 || token.expires_micros > now);
  });
  SR_ASSIGN_OR_RETURN(std::vector<crypto::DataKeyInfo> data_keys, context.keyring.ListDataKeys());
  stats["dataKeys"] = data_keys.size();
  stats["activeDataKeys"] =
      std::count_if(data_keys.begin(), data_keys.end(), [](const auto& key) { return key.active; });
  SR_ASSIGN_OR_RETURN(std::vector<crypto::KekInfo> keks, context.keyring.ListKeks());
  stats["keks"] = keks.size();
  // Every record of the chain, checkpoints included: the head's sequence
  // number (the first record is 1).
  stats["auditRecords"] = context.audit.head().seq;
  return stats;
}

ApiResult StatsRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("server.stats:read", "", "stats", "");
  auto started = StartAdminSession(context, request, scope, "server.stats:read");
  if (!started.has_value()) return started.error();
  StatusOr<json> stats = Stats(context, (*started).txn);
  if (!stats.has_value()) return ApiError::FromStatus(stats.error());
  return JsonResponse(Success::kOk, stats->dump());
}

// SettingsRoute answers the configuration appliance/ handed over, with its
// secrets already redacted (ApiOptions::settings_json).
ApiResult SettingsRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("settings:read", "", "settings", "");
  auto started = StartAdminSession(context, request, scope, "settings:read");
  if (!started.has_value()) return started.error();
  return JsonResponse(Success::kOk, context.settings_json);
}

// ReloadAccessControlRoute re-reads the policy directory, as SIGHUP does
// (ApiServer::ReloadPolicy): a malformed file is refused with its file,
// line and reason, and the previous policy stays.
ApiResult ReloadAccessControlRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("provisioning:reload", "", "policies", "accesscontrol");
  auto started = StartAdminSession(context, request, scope, "provisioning:reload");
  if (!started.has_value()) return started.error();
  Status loaded = context.policy.Load();
  LogEvent(loaded.ok() ? LogLevel::kInfo : LogLevel::kError,
           loaded.ok() ? "policy reloaded" : "policy reload refused; previous policy kept",
           {{"policy_dir", context.policy.directory()},
            {"detail", loaded.message()},
            {"request_id", request.request_id}});
  if (!loaded.ok()) {
    // Policy files hold no secret: the detail (file, line, reason) is what
    // the operator needs, whatever the code.
    return ApiError::FromStatus(loaded.WithContext("policy reload refused, previous policy kept"))
        .WithAuditReason("invalid_policy")
        .ShowingDetail();
  }
  return JsonResponse(Success::kOk,
                      json{{"message", "Access control provisioning reloaded"}}.dump());
}

// Unsupported answers 404 with why Strongroom has no such endpoint. No
// authentication: the answer is the same documented fact for everyone.
RouteHandler Unsupported(std::string what, std::string why) {
  return [error = ApiError::NotFound(what + " is not supported by Strongroom: " + why)](
             HttpRequest& request) {
    return ErrorToResponse(request.path, request.request_id, error);
  };
}

}  // namespace

void AddAdminServerRoutes(Router& router, ApiContext& context) {
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  // Blocking: Basic auth may need a password check (scrypt).
  router.Add(Method::Get, "/api/admin/stats", Execution::kBlocking, audited(StatsRoute));
  router.Add(Method::Get, "/api/admin/settings", Execution::kBlocking, audited(SettingsRoute));
  router.Add(Method::Post, "/api/admin/provisioning/access-control/reload", Execution::kBlocking,
             audited(ReloadAccessControlRoute));

  // The seed's endpoints with no meaning here (README, "Admin API").
  router.Add(Method::Put, "/api/admin/settings", Execution::kInline,
             Unsupported("changing settings",
                         "the configuration is the server's TOML file, read at start"));
  router.Add(Method::Get, "/api/admin/usage-report-preview", Execution::kInline,
             Unsupported("the usage report", "it reports no usage to anyone"));
  router.Add(Method::Post, "/api/admin/pause-all-alerts", Execution::kInline,
             Unsupported("pausing alerts", "it has no alerting"));
  router.Add(Method::Post, "/api/admin/ldap/reload", Execution::kInline,
             Unsupported("LDAP reload", "users are local accounts; there is no LDAP"));
  for (const char* kind : {"dashboards", "datasources", "plugins", "notifications"}) {
    router.Add(Method::Post, std::string("/api/admin/provisioning/") + kind + "/reload",
               Execution::kInline,
               Unsupported(std::string("provisioning of ") + kind,
                           "only access control (policy files) is provisioned"));
  }
}

}  // namespace strongroom::api

// GET /api/admin/encryption/keys (issue 21): the key inventory a security
// team reads at a glance — KEKs (current, present in the token, created),
// data keys per namespace and day (active or retired, their KEK and
// reserved counter), how many secrets each namespace holds, and the latest
// rotations and re-encryptions from the audit log with who ran them.
// Users holding `inventory:read` on every namespace (Auditor, ServerAdmin);
// the web view's session cookie is accepted (a GET of the view).
// SECURITY: ids, states and counts only; never key material, a wrapped
// key, a secret's name or value.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "api/admin/admin_routes.h"
#include "api/core/api_context.h"
#include "audit/event_summary.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

// The rotations and re-encryptions shown: the latest this many.
constexpr std::size_t kRotationsShown = 20;

// The key-lifecycle actions the admin API records (admin_encryption_routes.cc).
bool IsKeyLifecycleAction(std::string_view action) {
  return action == "keys:rotate-data-keys" || action == "keys:reencrypt-data-keys" ||
         action == "keys:reencrypt-secrets" || action == "keys:rotate-kek";
}

std::string Micros(std::int64_t micros) {
  return Rfc3339Micros(TimePoint(std::chrono::microseconds(micros)));
}

StatusOr<json> Keks(ApiContext& context) {
  SR_ASSIGN_OR_RETURN(std::vector<crypto::KekInfo> keks, context.keyring.ListKeks());
  SR_ASSIGN_OR_RETURN(std::vector<std::string> in_token, context.token.ListKekIds());
  const std::set<std::string> present(in_token.begin(), in_token.end());
  json out = json::array();
  for (const crypto::KekInfo& kek : keks) {
    out.push_back({{"id", kek.id},
                   {"current", kek.current},
                   {"in_token", present.contains(kek.id)},
                   {"created", Micros(kek.created_micros)}});
  }
  return out;
}

StatusOr<json> DataKeys(ApiContext& context) {
  SR_ASSIGN_OR_RETURN(std::vector<crypto::DataKeyInfo> keys, context.keyring.ListDataKeys());
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::tie(a.namespace_name, a.day, a.id) < std::tie(b.namespace_name, b.day, b.id);
  });
  json out = json::array();
  for (const crypto::DataKeyInfo& key : keys) {
    out.push_back({{"namespace", key.namespace_name},
                   {"day", key.day},
                   {"id", key.id},
                   {"state", key.active ? "active" : "retired"},
                   {"kek", key.kek_id},
                   {"reserved_counter", key.reserved_encryptions}});
  }
  return out;
}

// Namespaces counts the secure values and Sensu secrets of each namespace
// in the request's snapshot (keys are "<namespace>/<name>"; each record's
// MAC is checked on the way, as on every read).
StatusOr<json> Namespaces(const storage::ReadTxn& txn) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> counts;
  for (bool sensu : {false, true}) {
    SR_RETURN_IF_ERROR(txn.Scan(
        sensu ? storage::Table::kSensuSecrets : storage::Table::kSecureValues, "", "",
        [&](std::string_view key, const storage::Record&) {
          auto& [secure_values, sensu_secrets] = counts[std::string(key.substr(0, key.find('/')))];
          ++(sensu ? sensu_secrets : secure_values);
          return true;
        }));
  }
  json out = json::array();
  for (const auto& [name, count] : counts) {
    out.push_back(
        {{"name", name}, {"secure_values", count.first}, {"sensu_secrets", count.second}});
  }
  return out;
}

StatusOr<json> Rotations(ApiContext& context) {
  SR_ASSIGN_OR_RETURN(
      std::vector<audit::ParsedLine> latest,
      audit::LatestEvents(
          context.audit.dir(),
          [](const audit::ParsedLine& record) { return IsKeyLifecycleAction(record.action); },
          kRotationsShown));
  json out = json::array();
  for (const audit::ParsedLine& record : latest) {
    out.push_back({{"time", record.time},
                   {"action", record.action},
                   {"actor", record.actor_name},
                   {"outcome", record.outcome}});
  }
  return out;
}

ApiResult KeyInventory(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("inventory:read", "", "encryption", "keys");
  auto started =
      StartAdminSession(context, request, scope, "inventory:read", BrowserCookie::kAccepted);
  if (!started.has_value()) return started.error();
  SR_ASSIGN_OR_RETURN(json keks, Keks(context));
  SR_ASSIGN_OR_RETURN(json data_keys, DataKeys(context));
  SR_ASSIGN_OR_RETURN(json namespaces, Namespaces(started->txn));
  SR_ASSIGN_OR_RETURN(json rotations, Rotations(context));
  json body{{"keks", std::move(keks)},
            {"data_keys", std::move(data_keys)},
            {"namespaces", std::move(namespaces)},
            {"rotations", std::move(rotations)}};
  return JsonResponse(Success::kOk, body.dump());
}

}  // namespace

void AddAdminInventoryRoutes(Router& router, ApiContext& context) {
  // Blocking: Basic auth may need a password check, and the token is asked
  // which KEKs it holds.
  router.Add(Method::Get, "/api/admin/encryption/keys", Execution::kBlocking,
             AuditedRoute(context, KeyInventory));
}

}  // namespace strongroom::api

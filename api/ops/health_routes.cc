// GET /livez and GET /readyz (SPEC 6.6): no authentication. /readyz is 200
// only when the token answers, the store opens a snapshot and the policy is
// loaded; it also reports unlocked memory.
#include <nlohmann/json.hpp>

#include "api/core/api_context.h"
#include "api/ops/ops_routes.h"

namespace strongroom::api {

void AddHealthRoutes(Router& router, ApiContext& context) {
  using Pistache::Http::Method;
  ApiContext* c = &context;
  router.Add(Method::Get, "/livez", Execution::kInline,
             [](HttpRequest&) { return JsonResponse(200, R"({"status":"ok"})"); });
  // The token probe is a PKCS#11 call: keep it off the I/O threads.
  router.Add(Method::Get, "/readyz", Execution::kBlocking, [c](HttpRequest&) {
    nlohmann::ordered_json checks;
    bool ready = true;
    Status token = c->token.Probe();
    checks["token"] = token.ok() ? "ok" : "unavailable";
    ready = ready && token.ok();
    StatusOr<storage::ReadTxn> txn = c->store.BeginRead();
    // SECURITY: a store changed under the server fails every read closed.
    const bool store_intact = c->store.integrity_problem().ok();
    checks["store"] = !txn.has_value() ? "unavailable" : store_intact ? "ok" : "integrity failed";
    ready = ready && txn.has_value() && store_intact;
    checks["policy"] = c->policy.Get() ? "ok" : "unavailable";
    // SECURITY: audited requests fail closed while the log cannot be
    // written, so the appliance is not ready then (SPEC section 8).
    std::string audit_problem = c->audit.problem();
    checks["audit"] = audit_problem.empty() ? "ok" : audit_problem;
    ready = ready && audit_problem.empty();
    checks["memory"] = c->memory_locked ? "locked" : "unlocked (--allow-unlocked-memory)";
    nlohmann::ordered_json body{{"status", ready ? "ok" : "unavailable"}, {"checks", checks}};
    return JsonResponse(ready ? 200 : 503, body.dump());
  });
}

}  // namespace strongroom::api

// GET /livez and GET /readyz (SPEC 6.6): no authentication. /readyz is 200
// only when the token answers, the store opens a snapshot and is intact,
// the policy is loaded and the audit log is writable (in cluster mode also:
// the replica applies and is within max_staleness); it also reports
// whether the secret memory is locked.
// SECURITY: the body holds booleans only. What is wrong (a token error, a
// tampered audit log) is for the operator, through the log and the metrics
// (strongroom_audit_tampered, strongroom_audit_writable,
// strongroom_store_integrity_failed), not for an anonymous caller.
#include <memory>
#include <nlohmann/json.hpp>

#include "api/core/api_context.h"
#include "api/ops/ops_routes.h"
#include "api/ops/token_readiness.h"

namespace strongroom::api {

void AddHealthRoutes(Router& router, ApiContext& context) {
  using Pistache::Http::Method;
  ApiContext* c = &context;
  router.Add(Method::Get, "/livez", Execution::kInline,
             [](HttpRequest&) { return JsonResponse(Success::kOk, R"({"status":"ok"})"); });
  // The token probe is a PKCS#11 call: keep it off the I/O threads. It is
  // cached for a second, so callers cannot keep the session pool busy.
  auto token_readiness = std::make_shared<TokenReadiness>(context.token, context.clock);
  router.Add(Method::Get, "/readyz", Execution::kBlocking, [c, token_readiness](HttpRequest&) {
    const bool token = token_readiness->Ready();
    StatusOr<storage::ReadTxn> txn = c->store.BeginRead();
    // SECURITY: a store changed under the server fails every read closed.
    const bool store = txn.has_value() && c->store.integrity_problem().ok();
    const bool policy = c->policy.Get() != nullptr;
    // SECURITY: audited requests fail closed while the log cannot be
    // written, so the appliance is not ready then (SPEC section 8).
    const bool audit = c->audit.problem().empty();
    bool ready = token && store && policy && audit;
    nlohmann::ordered_json checks{{"token", token},
                                  {"store", store},
                                  {"policy", policy},
                                  {"audit", audit},
                                  {"memory_locked", c->memory_locked}};
    if (c->cluster.enabled()) {
      // Cluster mode (issue 18): the replica has not stopped applying (a
      // batch that did not verify) and has reached etcd within max_staleness. The staleness in seconds is the
      // metric strongroom_cluster_staleness_seconds, not said here.
      const ReplicaState replica = c->cluster.state();
      const bool cluster = !replica.stopped && replica.staleness <= c->cluster.max_staleness;
      checks["cluster"] = cluster;
      ready = ready && cluster;
    }
    nlohmann::ordered_json body{{"status", ready ? "ok" : "unavailable"}, {"checks", checks}};
    // Not an error: the checks are the answer, with the status a probe reads.
    return ready ? JsonResponse(Success::kOk, body.dump())
                 : JsonResponse(ApiReason::kServiceUnavailable, body.dump());
  });
}

}  // namespace strongroom::api

// Kubernetes discovery (SPEC 6.1) so unmodified Kubernetes clients find the
// SecureValue resource: /api, /apis, /apis/secret.grafana.app and
// /apis/secret.grafana.app/v1beta1. They describe the API only and answer
// without authentication, like a Kubernetes API server's discovery for
// authenticated users (nothing stored is revealed).
#include <nlohmann/json.hpp>

#include "api/core/api_context.h"
#include "api/grafana/grafana_routes.h"
#include "api/grafana/secure_value_json.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

json GroupVersion() { return json{{"groupVersion", kSecretGroupVersion}, {"version", "v1beta1"}}; }

json Group() {
  return json{{"name", kSecretGroup},
              {"versions", json::array({GroupVersion()})},
              {"preferredVersion", GroupVersion()}};
}

HttpResponse Respond(const json& body) { return JsonResponse(Success::kOk, body.dump()); }

}  // namespace

void AddDiscoveryRoutes(Router& router, ApiContext& context) {
  std::string address = context.listen_address;
  router.Add(Method::Get, "/api", Execution::kInline, [address](HttpRequest&) {
    return Respond(
        json{{"kind", "APIVersions"},
             {"versions", json::array()},
             {"serverAddressByClientCIDRs",
              json::array({json{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", address}}})}});
  });
  router.Add(Method::Get, "/apis", Execution::kInline, [](HttpRequest&) {
    return Respond(
        json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", json::array({Group()})}});
  });
  router.Add(Method::Get, "/apis/secret.grafana.app", Execution::kInline, [](HttpRequest&) {
    json group = Group();
    group["kind"] = "APIGroup";
    group["apiVersion"] = "v1";
    return Respond(group);
  });
  router.Add(Method::Get, "/apis/secret.grafana.app/v1beta1", Execution::kInline, [](HttpRequest&) {
    json resource{{"name", "securevalues"},
                  {"singularName", "securevalue"},
                  {"namespaced", true},
                  {"kind", "SecureValue"},
                  {"verbs", json::array({"create", "delete", "get", "list", "update"})},
                  {"shortNames", json::array({"sv"})}};
    return Respond(json{{"kind", "APIResourceList"},
                        {"apiVersion", "v1"},
                        {"groupVersion", kSecretGroupVersion},
                        {"resources", json::array({resource})}});
  });
}

}  // namespace strongroom::api

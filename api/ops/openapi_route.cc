// GET /openapi.yaml: the OpenAPI 3.0 document of every endpoint
// (docs/openapi.yaml, built into the binary so the server never reads the
// source tree). No authentication: it describes the API, not its data.
#include "api/core/api_context.h"
#include "api/ops/ops_routes.h"

namespace strongroom::api {

extern const std::string_view kOpenApiDocument;

void AddOpenApiRoute(Router& router) {
  router.Add(Pistache::Http::Method::Get, "/openapi.yaml", Execution::kInline, [](HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/yaml";
    response.body = std::string(kOpenApiDocument);
    return response;
  });
}

}  // namespace strongroom::api

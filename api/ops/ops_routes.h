// api/ops/ops_routes.h — the operator's endpoints (SPEC 6.6): health,
// Prometheus metrics and the OpenAPI document. Read this first.
//
//   health_routes.cc       GET /livez, /readyz (no authentication)
//   token_readiness.h      /readyz's token probe, cached for a second
//   metrics_routes.cc      GET /metrics (metrics:read, listed scrape
//                          services, or anyone when configured)
//   openapi_route.cc       GET /openapi.yaml (no authentication)
//   crl_route.cc           GET /pki/ca.crl, the client CA's CRL (no
//                          authentication)
//   openapi_document.cc.in docs/openapi.yaml, compiled in by CMake
//
// api/ops depends on api/core (and through it api/http, api/auth,
// api/wire, api/metrics), storage/, crypto/, policies/, audit/ and base/;
// never on another route folder.
// Thread-safety: the Add functions run once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"
#include "api/http/tls_context.h"

namespace strongroom::api {

// AddHealthRoutes registers GET /livez and GET /readyz.
void AddHealthRoutes(Router& router, ApiContext& context);
// AddOpenApiRoute serves docs/openapi.yaml (built into the binary) at
// GET /openapi.yaml, without authentication: it describes the API only.
void AddOpenApiRoute(Router& router);
// AddCrlRoute serves the CRL `tls` checks client certificates against
// (TlsContext::CurrentCrlDer), DER, at GET /pki/ca.crl without
// authentication; 404 without a CRL. `tls` must outlive the router.
void AddCrlRoute(Router& router, const TlsContext& tls);
// AddMetricsRoutes registers GET /metrics.
void AddMetricsRoutes(Router& router, ApiContext& context);

}  // namespace strongroom::api

// api/grafana/grafana_routes.h — the Grafana seed's secrets API (SPEC 6.1,
// 6.2): Kubernetes discovery, the SecureValue resource under
// /apis/secret.grafana.app/v1beta1, and the decrypt endpoints. Read this
// first.
//
//   discovery_routes.cc     /api, /apis, ... so Kubernetes clients find
//                           the SecureValue resource
//   secure_value_routes.cc  create, list, get, replace, delete
//   secure_value_json.h     a SecureValue's JSON, read strictly, written
//                           without its value
//   decrypt_routes.cc       the decrypt endpoints over mutual TLS, and
//                           Dapr's secret store (GET /v1.0/secrets/...):
//                           their read and format stages in the one decrypt
//                           pipeline (api/decrypt/decrypt.h)
//
// api/grafana depends on api/decrypt, api/core (and through it api/http,
// api/auth, api/wire), storage/, crypto/, policies/, audit/ and base/;
// never on another route folder.
// Thread-safety: the Add functions run once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"

namespace strongroom::api {

// AddDiscoveryRoutes registers Kubernetes discovery (no authentication).
void AddDiscoveryRoutes(Router& router, ApiContext& context);
// AddSecureValueRoutes registers the SecureValue API.
void AddSecureValueRoutes(Router& router, ApiContext& context);
// AddDecryptRoutes registers the Grafana and Dapr decrypt endpoints.
void AddDecryptRoutes(Router& router, ApiContext& context);

}  // namespace strongroom::api

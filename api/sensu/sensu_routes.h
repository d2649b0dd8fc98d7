// api/sensu/sensu_routes.h — the Sensu seed's secrets API (SPEC 6.3) under
// /api/enterprise/secrets/v1: secrets (references to a provider's value),
// providers, and resolving a secret over mutual TLS. Read this first.
//
//   sensu_secret_routes.cc    list (selectors, paging), get, PUT, DELETE
//   sensu_provider_routes.cc  the built-in `strongroom` provider and `env`
//   sensu_resolve_route.cc    a secret's value, under SPEC 6.2's checks
//   sensu_json.h              secrets' and providers' JSON, read strictly
//
// api/sensu depends on api/core (and through it api/http, api/auth,
// api/wire), storage/, crypto/, policies/, audit/ and base/; never on
// another route folder.
// Thread-safety: the Add functions run once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"

namespace strongroom::api {

// AddSensuSecretRoutes registers the Sensu secrets of a namespace.
void AddSensuSecretRoutes(Router& router, ApiContext& context);
// AddSensuProviderRoutes registers the cluster-wide secrets providers.
void AddSensuProviderRoutes(Router& router, ApiContext& context);
// AddSensuResolveRoute registers GET .../secrets/{name}/value.
void AddSensuResolveRoute(Router& router, ApiContext& context);

}  // namespace strongroom::api

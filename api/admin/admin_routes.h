// api/admin/admin_routes.h — the Grafana seed's admin API (SPEC 6.4) under
// /api/admin, for server admins signed in as themselves. Read this first.
//
//   admin_encryption_routes.cc  key lifecycle: rotate and re-encrypt data
//                               keys and secrets, rotate the KEK
//   admin_user_routes.cc        users, passwords, server-admin rights and
//                               API tokens (through accounts/)
//   admin_server_routes.cc      stats, settings, access-control reload, and
//                               the seed's endpoints that answer 404 here
//   admin_inventory_routes.cc   the key inventory (GET .../encryption/keys,
//                               `inventory:read`: Auditors too; issue 21)
//
// api/admin depends on api/core (and through it api/http, api/auth,
// api/wire), accounts/, storage/, crypto/, policies/, audit/ and base/;
// never on another route folder.
// Thread-safety: the Add functions run once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"

namespace strongroom::api {

// AddAdminEncryptionRoutes registers /api/admin/encryption/*.
void AddAdminEncryptionRoutes(Router& router, ApiContext& context);
// AddAdminUserRoutes registers /api/admin/users/*.
void AddAdminUserRoutes(Router& router, ApiContext& context);
// AddAdminInventoryRoutes registers GET /api/admin/encryption/keys.
void AddAdminInventoryRoutes(Router& router, ApiContext& context);
// AddAdminServerRoutes registers stats, settings, provisioning and the
// documented 404s.
void AddAdminServerRoutes(Router& router, ApiContext& context);

}  // namespace strongroom::api

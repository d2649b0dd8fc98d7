// api/audit/audit_routes.h — the auditor API (SPEC section 8): the records
// of the audit log, its public key and an online verification, for the
// holders of audit:read. Read this first.
//
//   audit_routes.cc  GET /api/audit/events, /public-key, /verify, /counts
//
// api/audit depends on api/core (and through it api/http, api/auth,
// api/wire), audit/ (queries, the verifier), storage/, crypto/, policies/
// and base/; never on another route folder.
// Thread-safety: the Add function runs once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"

namespace strongroom::api {

// AddAuditRoutes registers /api/audit/*.
void AddAuditRoutes(Router& router, ApiContext& context);

}  // namespace strongroom::api

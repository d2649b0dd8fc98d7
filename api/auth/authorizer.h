// api/auth/authorizer.h — RBAC decisions for a Principal (SPEC section 7): the
// subject's bindings from the policy files and the store, ServerAdmin for
// server admins, and for an API token the intersection of its own role with
// its owner's current permissions. Deny by default.
// Thread-safety: functions.
#pragma once

#include "api/auth/principal.h"
#include "base/status.h"
#include "policies/policies.h"
#include "storage/storage.h"

namespace strongroom::api {

// Authorize: may `principal` do `request`? Errors only for unreadable
// records (kIntegrityError ...); a missing owner denies.
StatusOr<bool> Authorize(const policies::Policy& policy, const storage::ReadTxn& txn,
                         const Principal& principal, const policies::AccessRequest& request);

// AuthorizeSomeName: may `principal` do `action` on at least one name in
// the namespace (decides 403 versus a filtered list).
StatusOr<bool> AuthorizeSomeName(const policies::Policy& policy, const storage::ReadTxn& txn,
                                 const Principal& principal, std::string_view action,
                                 std::string_view namespace_name);

}  // namespace strongroom::api

// policies/authorizer.h — the RBAC decision (SPEC section 7): does a set of
// bindings grant an action on a namespace and name? Deny by default.
// Thread-safety: pure functions over an immutable Policy.
#pragma once

#include <span>
#include <string_view>

#include "policies/policy.h"
#include "policies/subject.h"

namespace strongroom::policies {

// AccessRequest: an action on a namespace; `name` empty means "the whole
// collection" (list, or any name). A request that is not about one namespace
// (users, keys, settings, stats, audit) has an empty namespace_name: only
// bindings to "*" grant it.
struct AccessRequest {
  std::string_view action;
  std::string_view namespace_name;
  std::string_view name;
};

// Allows: deny by default; true iff one of `bindings` (all for the same
// subject, whose kind is `subject_kind`) names a role of `policy` bound to
// request.namespace_name or "*" whose permissions grant request.action with a
// scope covering request.name (name empty: only a scope covering every name).
// SECURITY: decrypt actions are never allowed when subject_kind is kUser. A
// binding of another subject kind, or one ValidateBinding would refuse under
// `policy` (an unknown role, Auditor on one namespace), grants nothing.
bool Allows(const Policy& policy, SubjectKind subject_kind, std::span<const Binding> bindings,
            const AccessRequest& request);

// AllowsSomeName: like Allows, but true if the grant covers at least one name
// in that namespace (used to decide between 403 and a filtered list).
bool AllowsSomeName(const Policy& policy, SubjectKind subject_kind,
                    std::span<const Binding> bindings, std::string_view action,
                    std::string_view namespace_name);

// RoleAllows: true iff role `role_name` of `policy` bound to `role_namespace`
// grants the request (used to intersect an API token's own role with its
// owner's permissions). It knows no subject: the caller must also ask Allows
// for the owner, which is what refuses decrypt to humans.
bool RoleAllows(const Policy& policy, std::string_view role_name, std::string_view role_namespace,
                const AccessRequest& request);

}  // namespace strongroom::policies

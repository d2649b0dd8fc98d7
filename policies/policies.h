// policies/policies.h — the RBAC engine and identity mapping (SPEC sections 4
// and 7). Read this first.
//
// A Policy (policy.h) is loaded from a directory of JSON files (format in
// policies/default/README.md): custom roles, bindings (subject -> role ->
// namespace), certificate fingerprints that are users, and certificate
// matches that name services. Allows() (authorizer.h) decides a request from
// a subject's bindings: deny by default, and never decrypt for a human.
// Actions and their scopes are catalogued in actions.h and scopes.h.
// Thread-safety: a loaded Policy is immutable and may be shared by threads;
// every function here is safe from any thread.
#pragma once

#include "policies/actions.h"               // IWYU pragma: export
#include "policies/authorizer.h"            // IWYU pragma: export
#include "policies/certificate_identity.h"  // IWYU pragma: export
#include "policies/policy.h"                // IWYU pragma: export
#include "policies/role.h"                  // IWYU pragma: export
#include "policies/scopes.h"                // IWYU pragma: export
#include "policies/subject.h"               // IWYU pragma: export

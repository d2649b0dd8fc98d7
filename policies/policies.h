// policies/policies.h — the RBAC engine and decrypter allowlists (SPEC
// section 7). Read this first.
//
// Not built yet: the engine arrives with the server issue. This library
// exists now so that the dependency direction (api -> policies -> base) is
// fixed from the start; it exports nothing.
#pragma once

// api/auth/auth.h — who a request is and what it may do (SPEC sections 4
// and 7). Read this first.
//
//   principal.h      who a request is, once authenticated: a user, an API
//                    token or a service, never confused
//   authenticator.h  credentials to a Principal: Basic auth, API tokens,
//                    verified client certificates; throttling and caching
//   auth_throttle.h  the password-failure throttle: per (user, client) and
//                    per client (an IPv4 address or an IPv6 /64), bounded
//                    tables that forget the least recently used
//   authorizer.h     RBAC decisions for a Principal over policies/ and the
//                    bindings stored by accounts/; deny by default
//   policy_holder.h  the current policy, replaced whole on reload
//   browser_sessions.h  the web view's sign-ins: session cookies with idle
//                    and absolute expiry, CSRF tokens, re-checked against
//                    the user's record on every use (issue 21)
//
// api/auth depends on base/, policies/, storage/, crypto/ (password
// hashes), accounts/ (users and tokens as stored) and api/http (the request
// whose headers and certificate it reads). It writes no response and no
// audit record: the request core (api/core) does that with its answer.
#pragma once

#include "api/auth/authenticator.h"  // IWYU pragma: export
#include "api/auth/authorizer.h"     // IWYU pragma: export
#include "api/auth/browser_sessions.h"  // IWYU pragma: export
#include "api/auth/policy_holder.h"  // IWYU pragma: export
#include "api/auth/principal.h"      // IWYU pragma: export

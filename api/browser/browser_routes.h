// api/browser/browser_routes.h — the web view's sign-in and sign-out
// (issue 21): GET, POST and DELETE /api/ui/session, the only writes the
// view makes. Read this first.
//
//   session_routes.cc  the three routes: who is signed in (and the sign-in
//                      form's CSRF token), sign in with name and password
//                      (Auditor and ServerAdmin users only), sign out
//
// The sessions themselves (tokens, CSRF tokens, expiry, re-checks against
// the user's record) are api/auth/browser_sessions.h; which routes accept
// the session cookie is decided by each route through the request core
// (api/core/api_context.h, BrowserCookie). The pages are served elsewhere.
//
// api/browser depends on api/core (and through it api/http, api/auth,
// api/wire), accounts/, storage/, policies/, audit/ and base/; never on
// another route folder.
// Thread-safety: the Add function runs once, before the server starts.
#pragma once

#include "api/core/api_context.h"
#include "api/http/router.h"

namespace strongroom::api {

// AddBrowserSessionRoutes registers GET, POST and DELETE /api/ui/session.
// REQUIRES: context.browser_sessions is set.
void AddBrowserSessionRoutes(Router& router, ApiContext& context);

}  // namespace strongroom::api

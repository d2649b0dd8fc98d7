// api/ui/ui_routes.h — the read-only web view for auditors (issue 21):
// static HTML, CSS and JavaScript built into the binary and served at
// /ui/. Read this first.
//
//   ui_routes.cc        GET /ui (redirect), /ui/ (index.html) and
//                       /ui/assets/:file, each with the view's security
//                       headers
//   ui_assets.h         the compiled-in files (ui/ of the source tree),
//                       looked up by name
//   ui_assets.cc.in     the generated table's frame; CMakeLists.txt fills
//                       it with every file of ui/ as bytes
//
// The pages hold no data: they read everything through the auditor and
// admin read APIs (/api/audit/*, /api/admin/encryption/keys) with the
// browser's session (/api/ui/session), so these routes need no
// authentication and write no audit record, as GET /openapi.yaml.
// SECURITY: every answer under /ui carries a Content-Security-Policy
// that allows only the view's own scripts and styles (no inline script or
// style, no framing, no form posting elsewhere, no base URI), nosniff and
// `Referrer-Policy: no-referrer`. Only the compiled-in names are served:
// no request reaches the file system.
//
// api/ui depends on api/core (the error boundary), api/http and base/;
// never on another route folder.
// Thread-safety: the Add function runs once, before the server starts;
// the asset table is immutable.
#pragma once

#include "api/http/router.h"

namespace strongroom::api {

// kUiContentSecurityPolicy is the Content-Security-Policy of every /ui
// answer.
inline constexpr char kUiContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// AddUiRoutes registers GET /ui (301 to /ui/), GET /ui/ (index.html) and
// GET /ui/assets/:file (a compiled-in file; 404 for any other name).
void AddUiRoutes(Router& router);

}  // namespace strongroom::api

// api/http/pistache.h — the one header through which api/ includes Pistache.
//
// Strongroom uses Pistache's HTTP/1.1 request-line and body parsing steps
// (request_reader.h) and its header and query types; its route tree (the
// router matches patterns itself, without allocating), TCP transport and
// TLS acceptor are not used (see docs/tls-front.md).
//
// C++23 trap (SPEC section 10): Pistache's common.h defines a function-like
// macro `unreachable()` that rewrites libstdc++'s std::unreachable() if
// <utility> is first included after it. Including <utility> first and
// dropping the macro afterwards keeps every later include safe.
#pragma once

// First, before any Pistache header (see above).
#include <utility>
// Then Pistache.
#include <pistache/http.h>
#include <pistache/http_defs.h>
#include <pistache/http_headers.h>

#undef unreachable

// api/http/pistache.h — the one header through which api/ includes Pistache.
//
// Strongroom uses Pistache's HTTP/1.1 request parser (Http::RequestParser),
// its header and query types, and its route tree (Rest::SegmentTreeNode);
// its TCP transport and TLS acceptor are not used (see docs/tls-front.md).
//
// C++23 trap (SPEC section 10): Pistache's common.h defines a function-like
// macro `unreachable()` that rewrites libstdc++'s std::unreachable() if
// <utility> is first included after it. Including <utility> first and
// dropping the macro afterwards keeps every later include safe.
#pragma once

#include <pistache/http.h>
#include <pistache/http_defs.h>
#include <pistache/http_headers.h>
#include <pistache/router.h>

#include <utility>

#undef unreachable

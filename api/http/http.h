// api/http/http.h — Strongroom's TLS front and HTTP engine: sockets, TLS,
// HTTP/1.1 framing, routing and the handler threads, with no Strongroom
// semantics (no store, no policy, no audit). Read this first; design and
// reasons in docs/tls-front.md.
//
//   http_server.h      the front: acceptor, I/O threads, caps, deadlines
//   tls_context.h      the TLS configuration and a client certificate's facts
//   http_message.h     one request and its response as a handler sees them
//   router.h           (method, path) to handler, and how a handler runs
//   request_reader.h   framing and parsing requests off a TLS stream
//   handler_pool.h     the bounded pool for handlers that may block
//   request_metrics.h  the front's own counters: requests per route and status
//   io_worker.h        one I/O thread (private to api/http; lists its files)
//   server_shared.h    what the acceptor and I/O threads share (private)
//   address_counts.h   per-client-address connection counts (private)
//   pistache.h         the one include of Pistache (private to api/http)
//
// api/http depends on base/ and api/metrics only. Who a certificate's holder
// is (policies/) and what a route does are decided above it: the front
// hands a verified certificate's facts (base/certificate_facts.h) to the
// handler and counts responses in api/metrics' registry.
#pragma once

#include "api/http/handler_pool.h"     // IWYU pragma: export
#include "api/http/http_message.h"     // IWYU pragma: export
#include "api/http/http_server.h"      // IWYU pragma: export
#include "api/http/request_metrics.h"  // IWYU pragma: export
#include "api/http/request_reader.h"   // IWYU pragma: export
#include "api/http/router.h"           // IWYU pragma: export
#include "api/http/tls_context.h"      // IWYU pragma: export

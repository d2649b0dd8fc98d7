// api/http/server_shared.h — the state the acceptor, the I/O threads and the
// handler pool share (private to api/http): the options, the TLS context,
// the router, the per-address counts and the front's counters.
//
// Thread-safety: the counters are atomics and `per_address` locks itself;
// everything else is set before the threads start and read-only after.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/http/address_counts.h"
#include "api/http/handler_pool.h"
#include "api/http/http_server.h"
#include "api/http/request_metrics.h"

namespace strongroom::api {

// ServerShared is what the acceptor, the workers and the pool share.
struct ServerShared {
  AddressCounts per_address;
  ServerOptions options;
  const TlsContext* tls = nullptr;
  const Router* router = nullptr;
  ErrorResponder errors;
  HandlerPool* pool = nullptr;
  RequestMetrics* metrics = nullptr;  // optional; counts every response
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<std::uint64_t> open_connections{0};
  std::atomic<std::uint64_t> in_handshake{0};
  std::atomic<std::uint64_t> accepted{0}, handshakes_completed{0}, handshakes_failed{0},
      refused_over_capacity{0}, requests{0}, idle_buffers_released{0}, deferred_offloaded{0},
      shed_idle{0};
  // Connections handed to a worker over the connection cap, each to take
  // the place of that worker's oldest idle one; at most one per worker at
  // a time, so the cap is passed by no more than the number of workers.
  std::atomic<std::size_t> sheds_pending{0};
  std::string request_id_prefix;  // random per process
};

}  // namespace strongroom::api

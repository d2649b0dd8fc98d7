// api/http/http_server.h — Strongroom's TLS front: a listener, I/O threads that
// complete TLS handshakes and frame HTTP/1.1 requests without ever
// blocking, and a bounded pool for handlers that may block. Design and
// reasons: docs/tls-front.md.
//
// SECURITY / availability contract:
// - The acceptor never performs TLS: it accepts, applies the connection
//   caps and hands the socket to an I/O thread. Handshakes run non-blocking
//   under a deadline, so an idle or dripping client costs one file
//   descriptor and never delays another client (SPEC sections 9 and 10).
// - Caps: open connections, connections still in handshake, requests per
//   connection, header bytes and count, body bytes. Deadlines: handshake,
//   idle keep-alive, request headers, request body.
// - HTTP/1.1 connections stay open unless the client sends
//   `Connection: close` (HTTP/1.0: unless it sends keep-alive).
//
// Thread-safety: Start, Shutdown and Wait are called from one controlling
// thread. Handlers run concurrently on I/O threads (Execution::kInline) and
// pool threads (Execution::kBlocking).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http/http_message.h"
#include "api/http/request_reader.h"
#include "api/http/router.h"
#include "api/http/tls_context.h"
#include "base/status.h"

namespace strongroom::api {

struct ServerLimits {
  unsigned io_threads = 2;                 // TLS and HTTP framing; inline handlers
  unsigned blocking_threads = 8;           // Execution::kBlocking handlers
  std::size_t max_queued_requests = 1024;  // blocking requests waiting (503 beyond)
  // Open connections. At the cap a new one replaces the oldest idle
  // keep-alive connection, or is closed when none is idle.
  std::size_t max_connections = 4096;
  std::size_t max_handshakes = 1024;       // connections still in TLS handshake
  // The same caps per client IP address, so one host cannot use up the
  // global ones (issue 16). 0: no per-address cap.
  std::size_t max_connections_per_address = 0;
  std::size_t max_handshakes_per_address = 0;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds header_timeout{10000};  // first byte to end of headers
  std::chrono::milliseconds body_timeout{30000};    // end of headers to end of body
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive with no request
  std::chrono::milliseconds shutdown_grace{10000};  // in-flight requests at shutdown
  std::size_t max_requests_per_connection = 100000;
  RequestLimits request;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;  // 0: any free port (see HttpServer::port)
  ServerLimits limits;
};

class RequestMetrics;

// ErrorResponder builds the response for an error the front itself
// produces (400, 404, 405, 408, 413, 431, 503 ...), for a request whose
// path is `path` (empty when the request line could not be parsed), so
// /apis/... paths can answer with a Kubernetes Status and others with
// {"message": ...} (SPEC section 6).
using ErrorResponder =
    std::function<HttpResponse(int status, std::string_view message, std::string_view path)>;

struct ServerCounters {
  std::uint64_t accepted = 0;
  std::uint64_t handshakes_completed = 0;
  std::uint64_t handshakes_failed = 0;  // includes timeouts
  std::uint64_t refused_over_capacity = 0;
  std::uint64_t requests = 0;
  std::uint64_t open_connections = 0;
  std::uint64_t handshaking_connections = 0;  // open and still in the TLS handshake
  std::uint64_t idle_buffers_released = 0;    // idle connections that gave back TLS buffers
  std::uint64_t deferred_offloaded = 0;       // deferred handlers moved to the pool (Offload)
  std::uint64_t shed_idle = 0;  // idle connections closed for new ones at the connection cap
  std::uint64_t idle_connections = 0;  // established and waiting for a request (last sweep)
};

class HttpServer {
 public:
  // Start binds (SO_REUSEADDR), listens and starts the threads. The router
  // and TLS context must outlive the server, and so must `metrics` when
  // given (every response is counted there: request_metrics.h).
  // kInvalidArgument for a bad address, kUnavailable when the port cannot
  // be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                     const TlsContext& tls, const Router& router,
                                                     ErrorResponder errors,
                                                     RequestMetrics* metrics = nullptr);
  // ~HttpServer shuts down (if needed) and joins every thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // port is the bound port (useful when options.port was 0).
  std::uint16_t port() const;
  // Shutdown stops accepting; requests in flight finish (their responses say
  // Connection: close); idle connections are closed; after
  // limits.shutdown_grace every remaining connection is closed. Returns
  // once every thread has stopped.
  void Shutdown();
  ServerCounters counters() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::api

// api/http/request_metrics.h — request counts and latency per
// route template, method and status class, kept by the TLS front.
//
// Every series is made when the table is built, from the router's routes
// (and one "unmatched" route for 404, 405 and requests that could not be
// parsed), so counting a response is an array index and relaxed atomic
// adds: no lock, no allocation, no string work on the request path. Label
// values are route templates, never request paths (bounded, and a path
// may name a secret).
//
// Thread-safety: Observe from any thread.
#pragma once

#include <array>
#include <chrono>
#include <vector>

#include "api/http/router.h"
#include "api/metrics/metrics_registry.h"

namespace strongroom::api {

// kUnmatchedRoute is the route label of requests no route took.
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

class RequestMetrics {
 public:
  // RequestMetrics registers strongroom_http_requests_total and
  // strongroom_http_request_duration_seconds in `registry` for every route
  // of `router` and for kUnmatchedRoute, each series shown once used.
  // REQUIRES: every route is added before; `registry` outlives this.
  RequestMetrics(MetricsRegistry& registry, const Router& router);

  // Observe counts one response with `status` to a request of `route`
  // (nullptr: unmatched), `elapsed` after the request was parsed.
  // Lock-free, no allocation.
  void Observe(const Route* route, int status, std::chrono::nanoseconds elapsed);

 private:
  struct Slot {
    std::array<Counter*, 4> requests{};     // by status class: 2xx, 3xx, 4xx, 5xx
    std::array<Histogram*, 4> durations{};  // the same
  };
  std::vector<Slot> slots_;  // by Route::index; the last is the unmatched route
};

}  // namespace strongroom::api

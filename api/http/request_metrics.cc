#include "api/http/request_metrics.h"

namespace strongroom::api {
namespace {

// From 100 µs (an inline answer) to 10 s (a request that waited for the
// audit log or the token until it gave up).
constexpr std::array<double, 15> kDurationBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
constexpr std::array<std::string_view, 4> kStatusClasses = {"2xx", "3xx", "4xx", "5xx"};

// ClassIndex puts a status in its class; 1xx (never answered here) counts
// as 2xx and anything past 599 as 5xx.
std::size_t ClassIndex(int status) {
  if (status < 300) return 0;
  if (status < 400) return 1;
  if (status < 500) return 2;
  return 3;
}

}  // namespace

RequestMetrics::RequestMetrics(MetricsRegistry& registry, const Router& router) {
  slots_.resize(router.route_count() + 1);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const bool unmatched = i == router.route_count();
    const std::string method =
        unmatched ? "" : std::string(Pistache::Http::methodString(router.route_at(i).method));
    const std::string route = unmatched ? std::string(kUnmatchedRoute) : router.route_at(i).pattern;
    for (std::size_t c = 0; c < kStatusClasses.size(); ++c) {
      MetricLabels labels = {
          {"method", method}, {"route", route}, {"status_class", std::string(kStatusClasses[c])}};
      slots_[i].requests[c] =
          &registry.AddCounter("strongroom_http_requests_total",
                               "HTTP responses sent, by route template, method and status class.",
                               labels, Exposed::kOnceUsed);
      slots_[i].durations[c] = &registry.AddHistogram(
          "strongroom_http_request_duration_seconds",
          "Time from a request parsed to its response queued, by route template, method and "
          "status class.",
          kDurationBounds, std::move(labels), Exposed::kOnceUsed);
    }
  }
}

void RequestMetrics::Observe(const Route* route, int status, std::chrono::nanoseconds elapsed) {
  const Slot& slot = slots_[route == nullptr ? slots_.size() - 1 : route->index];
  const std::size_t c = ClassIndex(status);
  slot.requests[c]->Increment();
  slot.durations[c]->Observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace strongroom::api

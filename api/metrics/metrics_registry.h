// api/metrics/metrics_registry.h — a small Prometheus registry: counters and
// fixed-bucket histograms updated in place, values read from a function at
// scrape time (counters, gauges, histograms), and the text exposition
// format 0.0.4 (`# HELP`, `# TYPE`, escaped label values, cumulative
// `_bucket{le=...}` with `+Inf`, `_sum`, `_count`).
//
// Why our own: Debian 12 packages no C++ Prometheus client, and what the
// appliance needs is this file.
//
// Thread-safety: Counter::Increment and Histogram::Observe are lock-free
// and allocation-free (relaxed atomics; a scrape may see one series a few
// increments behind another, never a torn value). Registration and
// Exposition take the registry's mutex; register before serving, since a
// registered series is never removed. References returned by Add* stay
// valid for the registry's life.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strongroom::api {

// MetricLabels are a series' label names and values, in exposition order.
// SECURITY: values must come from a bounded set the code chooses (a route
// template, an outcome): never a secret, a namespace or a name from a
// request, which would also let clients grow the registry without bound.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Counter is a monotonic count.
class Counter {
 public:
  // Increment adds `n`. Lock-free.
  void Increment(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// HistogramSnapshot is a histogram's state: `counts[i]` observations fell
// in bucket i (not cumulative: bucket i holds values in
// (bound[i-1], bound[i]]; the last bucket, one past the bounds, holds
// those above every bound), and `sum` is the sum of every observation.
struct HistogramSnapshot {
  std::vector<std::uint64_t> counts;
  double sum = 0;
};

// Histogram counts observations into fixed buckets.
class Histogram {
 public:
  // Histogram takes the buckets' upper bounds.
  // REQUIRES: bounds are finite and strictly increasing.
  explicit Histogram(std::span<const double> upper_bounds);

  // Observe counts `value` in the first bucket whose bound is >= value and
  // adds it to the sum. Lock-free, no allocation.
  void Observe(double value);
  // Snapshot reads the buckets (one relaxed load each) and the sum.
  HistogramSnapshot Snapshot() const;
  std::span<const double> upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Exposed says when a series appears in the exposition. kOnceUsed leaves
// out a counter that is still 0 or a histogram with no observation, as
// client libraries that create labelled series on first use do: a table
// of preallocated series (every route times every status class) then
// shows only the combinations that happened.
enum class Exposed { kAlways, kOnceUsed };

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // AddCounter registers one series of the counter family `name` (which
  // should end in `_total`) and returns it. The family is created on first
  // use with `help`; later series of it add their labels.
  // REQUIRES (else std::invalid_argument): a valid metric name, valid label
  // names (not "le", not starting with "__"), the family not registered
  // under another type, and no series with the same labels yet.
  Counter& AddCounter(std::string_view name, std::string_view help, MetricLabels labels = {},
                      Exposed exposed = Exposed::kAlways);
  // AddHistogram registers one series of the histogram family `name` with
  // `upper_bounds` (REQUIRES as AddCounter and Histogram).
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::span<const double> upper_bounds, MetricLabels labels = {},
                          Exposed exposed = Exposed::kAlways);

  // AddCounterFunction / AddGaugeFunction register a series whose value
  // `read` returns at each scrape (a module's own counters or state).
  // `read` runs under the registry's mutex, on the scraping thread: it
  // must be quick and must not call back into the registry.
  void AddCounterFunction(std::string_view name, std::string_view help, MetricLabels labels,
                          std::function<double()> read);
  void AddGaugeFunction(std::string_view name, std::string_view help, MetricLabels labels,
                        std::function<double()> read);
  // AddHistogramFunction registers a histogram series read at each scrape.
  // REQUIRES: `read` returns upper_bounds.size() + 1 counts.
  void AddHistogramFunction(std::string_view name, std::string_view help,
                            std::span<const double> upper_bounds, MetricLabels labels,
                            std::function<HistogramSnapshot()> read);

  // Exposition returns every family, in registration order, in the
  // Prometheus text format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4; charset=utf-8"). A family none of whose
  // series is shown is left out.
  std::string Exposition() const;

 private:
  struct Family;
  struct Series;
  Family& FamilyFor(std::string_view name, std::string_view help, int type);
  Series& NewSeries(Family& family, MetricLabels labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // guarded by mu_
};

// kPrometheusContentType is the Content-Type of Exposition's text.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace strongroom::api

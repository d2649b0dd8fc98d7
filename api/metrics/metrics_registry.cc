#include "api/metrics/metrics_registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace strongroom::api {
namespace {

enum Type { kCounter, kGauge, kHistogram };

constexpr std::string_view TypeName(int type) {
  return type == kCounter ? "counter" : type == kGauge ? "gauge" : "histogram";
}

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void CheckLabels(const MetricLabels& labels) {
  for (const auto& [name, value] : labels) {
    if (!ValidName(name, false) || name == "le" || name.starts_with("__")) {
      throw std::invalid_argument("bad metric label name: " + name);
    }
  }
}

void CheckBounds(std::span<const double> bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and increasing");
    }
  }
}

// AppendNumber writes `value` as the format's floats: shortest round-trip
// digits, integers without a fraction, "+Inf", "-Inf", "NaN".
void AppendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  std::to_chars_result r;
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    r = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<std::int64_t>(value));
  } else {
    r = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  }
  out.append(buffer, r.ptr);
}

void AppendInteger(std::string& out, std::uint64_t value) {
  char buffer[24];
  auto r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, r.ptr);
}

// AppendEscaped escapes a label value (backslash, double quote, newline)
// or, with !quote, HELP text (backslash, newline).
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// AppendLabels writes {a="x",b="y"} with `le` last when given; nothing for
// no labels.
void AppendLabels(std::string& out, const MetricLabels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    AppendEscaped(out, value, true);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

// AppendHistogram writes one histogram series: cumulative buckets ending
// with +Inf, then _sum and _count (`total`, the +Inf bucket).
void AppendHistogram(std::string& lines, const std::string& name, const MetricLabels& labels,
                     std::span<const double> bounds, const HistogramSnapshot& snapshot,
                     std::uint64_t total) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += snapshot.counts[i];
    std::string le;
    if (i < bounds.size()) {
      AppendNumber(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    lines += name;
    lines += "_bucket";
    AppendLabels(lines, labels, le);
    lines += ' ';
    AppendInteger(lines, cumulative);
    lines += '\n';
  }
  lines += name;
  lines += "_sum";
  AppendLabels(lines, labels);
  lines += ' ';
  AppendNumber(lines, snapshot.sum);
  lines += '\n';
  lines += name;
  lines += "_count";
  AppendLabels(lines, labels);
  lines += ' ';
  AppendInteger(lines, total);
  lines += '\n';
}

}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(new std::atomic<std::uint64_t>[upper_bounds.size() + 1]) {
  CheckBounds(upper_bounds);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.counts.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.counts.push_back(counts_[i].load(std::memory_order_relaxed));
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

struct MetricsRegistry::Series {
  MetricLabels labels;
  Exposed exposed = Exposed::kAlways;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> read_value;
  std::vector<double> bounds;  // with read_histogram
  std::function<HistogramSnapshot()> read_histogram;
};

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::unique_ptr<Series>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    int type) {
  if (!ValidName(name, true)) throw std::invalid_argument("bad metric name");
  for (auto& family : families_) {
    if (family->name != name) continue;
    if (family->type != type) {
      throw std::invalid_argument("metric " + family->name + " registered with another type");
    }
    return *family;
  }
  auto family = std::make_unique<Family>();
  family->name = std::string(name);
  family->help = std::string(help);
  family->type = type;
  families_.push_back(std::move(family));
  return *families_.back();
}

MetricsRegistry::Series& MetricsRegistry::NewSeries(Family& family, MetricLabels labels) {
  CheckLabels(labels);
  for (const auto& series : family.series) {
    if (series->labels == labels) {
      throw std::invalid_argument("metric " + family.name + " has these labels already");
    }
  }
  family.series.push_back(std::make_unique<Series>());
  family.series.back()->labels = std::move(labels);
  return *family.series.back();
}

Counter& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                     MetricLabels labels, Exposed exposed) {
  std::lock_guard lock(mu_);
  Series& series = NewSeries(FamilyFor(name, help, kCounter), std::move(labels));
  series.exposed = exposed;
  series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Histogram& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                         std::span<const double> upper_bounds, MetricLabels labels,
                                         Exposed exposed) {
  std::lock_guard lock(mu_);
  auto histogram = std::make_unique<Histogram>(upper_bounds);
  Series& series = NewSeries(FamilyFor(name, help, kHistogram), std::move(labels));
  series.exposed = exposed;
  series.histogram = std::move(histogram);
  return *series.histogram;
}

void MetricsRegistry::AddCounterFunction(std::string_view name, std::string_view help,
                                         MetricLabels labels, std::function<double()> read) {
  std::lock_guard lock(mu_);
  NewSeries(FamilyFor(name, help, kCounter), std::move(labels)).read_value = std::move(read);
}

void MetricsRegistry::AddGaugeFunction(std::string_view name, std::string_view help,
                                       MetricLabels labels, std::function<double()> read) {
  std::lock_guard lock(mu_);
  NewSeries(FamilyFor(name, help, kGauge), std::move(labels)).read_value = std::move(read);
}

void MetricsRegistry::AddHistogramFunction(std::string_view name, std::string_view help,
                                           std::span<const double> upper_bounds,
                                           MetricLabels labels,
                                           std::function<HistogramSnapshot()> read) {
  CheckBounds(upper_bounds);
  std::lock_guard lock(mu_);
  Series& series = NewSeries(FamilyFor(name, help, kHistogram), std::move(labels));
  series.bounds.assign(upper_bounds.begin(), upper_bounds.end());
  series.read_histogram = std::move(read);
}

std::string MetricsRegistry::Exposition() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(16 * 1024);
  std::string lines;
  for (const auto& family : families_) {
    lines.clear();
    for (const auto& series : family->series) {
      if (family->type == kHistogram) {
        HistogramSnapshot snapshot =
            series->histogram ? series->histogram->Snapshot() : series->read_histogram();
        std::span<const double> bounds =
            series->histogram ? series->histogram->upper_bounds() : std::span(series->bounds);
        snapshot.counts.resize(bounds.size() + 1, 0);
        std::uint64_t total = 0;
        for (std::uint64_t count : snapshot.counts) total += count;
        if (series->exposed == Exposed::kOnceUsed && total == 0) continue;
        AppendHistogram(lines, family->name, series->labels, bounds, snapshot, total);
        continue;
      }
      std::string value;
      if (series->counter) {
        std::uint64_t count = series->counter->value();
        if (series->exposed == Exposed::kOnceUsed && count == 0) continue;
        AppendInteger(value, count);
      } else {
        AppendNumber(value, series->read_value());
      }
      lines += family->name;
      AppendLabels(lines, series->labels);
      lines += ' ';
      lines += value;
      lines += '\n';
    }
    if (lines.empty()) continue;
    out += "# HELP ";
    out += family->name;
    out += ' ';
    AppendEscaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    out += ' ';
    out += TypeName(family->type);
    out += '\n';
    out += lines;
  }
  return out;
}

}  // namespace strongroom::api

// The Prometheus registry and its text exposition (api/metrics/metrics_registry.h):
// the exact text for a small registry, escaping, cumulative buckets, series
// shown once used, refused registrations, and increments from many threads
// (also run under ThreadSanitizer: label "concurrency").
#include "api/metrics/metrics_registry.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <thread>
#include <vector>

namespace strongroom::api {
namespace {

constexpr std::array<double, 3> kBounds = {0.001, 0.01, 0.1};

TEST(MetricsRegistry, ExposesASmallRegistryInTheTextFormat) {
  MetricsRegistry registry;
  Counter& ok = registry.AddCounter("app_requests_total", "Requests answered.",
                                    {{"route", "/a"}, {"status_class", "2xx"}});
  Counter& bad = registry.AddCounter("app_requests_total", "ignored: the family has its help",
                                     {{"route", "/a"}, {"status_class", "4xx"}});
  registry.AddGaugeFunction("app_open_connections", "Connections open now.", {},
                            [] { return 3.0; });
  Histogram& latency = registry.AddHistogram("app_duration_seconds", "Time to answer.", kBounds);
  registry.AddCounterFunction("app_bytes_total", "Bytes.", {{"kind", "read"}},
                              [] { return 1048576.0; });
  ok.Increment();
  ok.Increment(2);
  bad.Increment();
  // Powers of two: the sum is exact.
  latency.Observe(0.0009765625);
  latency.Observe(0.0625);
  latency.Observe(0.0625);
  latency.Observe(7);

  EXPECT_EQ(registry.Exposition(),
            "# HELP app_requests_total Requests answered.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\",status_class=\"2xx\"} 3\n"
            "app_requests_total{route=\"/a\",status_class=\"4xx\"} 1\n"
            "# HELP app_open_connections Connections open now.\n"
            "# TYPE app_open_connections gauge\n"
            "app_open_connections 3\n"
            "# HELP app_duration_seconds Time to answer.\n"
            "# TYPE app_duration_seconds histogram\n"
            "app_duration_seconds_bucket{le=\"0.001\"} 1\n"
            "app_duration_seconds_bucket{le=\"0.01\"} 1\n"
            "app_duration_seconds_bucket{le=\"0.1\"} 3\n"
            "app_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "app_duration_seconds_sum 7.1259765625\n"
            "app_duration_seconds_count 4\n"
            "# HELP app_bytes_total Bytes.\n"
            "# TYPE app_bytes_total counter\n"
            "app_bytes_total{kind=\"read\"} 1048576\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelpText) {
  MetricsRegistry registry;
  registry.AddGaugeFunction("app_value", "Help with \\ and\na new line \"quoted\".",
                            {{"path", "a\\b\"c\"\nd"}}, [] { return 0.25; });
  EXPECT_EQ(registry.Exposition(),
            "# HELP app_value Help with \\\\ and\\na new line \"quoted\".\n"
            "# TYPE app_value gauge\n"
            "app_value{path=\"a\\\\b\\\"c\\\"\\nd\"} 0.25\n");
}

TEST(MetricsRegistry, WritesSpecialValuesAsTheFormatSpellsThem) {
  MetricsRegistry registry;
  registry.AddGaugeFunction("app_g", "g", {{"v", "inf"}}, [] { return 1.0 / 0.0; });
  registry.AddGaugeFunction("app_g", "g", {{"v", "nan"}}, [] { return 0.0 / 0.0; });
  registry.AddGaugeFunction("app_g", "g", {{"v", "small"}}, [] { return 1.5e-7; });
  registry.AddGaugeFunction("app_g", "g", {{"v", "negative"}}, [] { return -2.0; });
  EXPECT_EQ(registry.Exposition(),
            "# HELP app_g g\n# TYPE app_g gauge\n"
            "app_g{v=\"inf\"} +Inf\n"
            "app_g{v=\"nan\"} NaN\n"
            "app_g{v=\"small\"} 1.5e-07\n"
            "app_g{v=\"negative\"} -2\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndEndWithTheCount) {
  Histogram histogram(kBounds);
  for (double value : {0.001, 0.0010001, 0.01, 0.2, 0.0}) histogram.Observe(value);
  HistogramSnapshot snapshot = histogram.Snapshot();
  // A value equal to a bound falls in that bound's bucket (le: <=).
  EXPECT_EQ(snapshot.counts, (std::vector<std::uint64_t>{2, 2, 0, 1}));

  MetricsRegistry registry;
  registry.AddHistogramFunction("app_group_records", "Records per group.", kBounds,
                                {{"log", "audit"}}, [] {
                                  return HistogramSnapshot{{4, 0, 2, 1}, 123};
                                });
  EXPECT_EQ(registry.Exposition(),
            "# HELP app_group_records Records per group.\n"
            "# TYPE app_group_records histogram\n"
            "app_group_records_bucket{log=\"audit\",le=\"0.001\"} 4\n"
            "app_group_records_bucket{log=\"audit\",le=\"0.01\"} 4\n"
            "app_group_records_bucket{log=\"audit\",le=\"0.1\"} 6\n"
            "app_group_records_bucket{log=\"audit\",le=\"+Inf\"} 7\n"
            "app_group_records_sum{log=\"audit\"} 123\n"
            "app_group_records_count{log=\"audit\"} 7\n");
}

TEST(MetricsRegistry, ShowsSeriesRegisteredAsOnceUsedOnlyAfterTheirFirstUse) {
  MetricsRegistry registry;
  Counter& counter =
      registry.AddCounter("app_hits_total", "Hits.", {{"route", "/x"}}, Exposed::kOnceUsed);
  Histogram& histogram = registry.AddHistogram("app_seconds", "Seconds.", kBounds,
                                               {{"route", "/x"}}, Exposed::kOnceUsed);
  EXPECT_EQ(registry.Exposition(), "");
  counter.Increment();
  EXPECT_EQ(registry.Exposition(),
            "# HELP app_hits_total Hits.\n# TYPE app_hits_total counter\n"
            "app_hits_total{route=\"/x\"} 1\n");
  histogram.Observe(0.5);
  EXPECT_NE(registry.Exposition().find("app_seconds_count{route=\"/x\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, RefusesInvalidNamesLabelsAndDuplicates) {
  MetricsRegistry registry;
  registry.AddCounter("app_total", "x", {{"a", "1"}});
  EXPECT_THROW(registry.AddCounter("app_total", "x", {{"a", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.AddGaugeFunction("app_total", "x", {}, [] { return 0.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("9app_total", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("app-x_total", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("app_y_total", "x", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("app_y_total", "x", {{"__name", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("app_y_total", "x", {{"a:b", "1"}}), std::invalid_argument);
  const std::array<double, 2> decreasing = {1.0, 0.5};
  EXPECT_THROW(registry.AddHistogram("app_h", "x", decreasing), std::invalid_argument);
}

TEST(MetricsRegistry, CountsEveryIncrementFromManyThreadsWhileScraped) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("app_total", "x");
  Histogram& histogram = registry.AddHistogram("app_seconds", "x", kBounds);
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        counter.Increment();
        histogram.Observe(t % 2 == 0 ? 0.005 : 1.0);
      }
    });
  }
  // Scrapes while the counts move: each one consistent (+Inf == count).
  for (int i = 0; i < 20; ++i) {
    std::string text = registry.Exposition();
    EXPECT_NE(text.find("app_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), std::uint64_t{kThreads} * kEach);
  HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.counts, (std::vector<std::uint64_t>{0, 2 * kEach, 0, 2 * kEach}));
  EXPECT_NEAR(snapshot.sum, 2 * kEach * 0.005 + 2 * kEach * 1.0, 1e-6);
}

}  // namespace
}  // namespace strongroom::api

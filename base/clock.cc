#include "base/clock.h"

#include <cstdio>
#include <ctime>

namespace strongroom {
namespace {

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

std::tm ToUtc(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

const Clock* Clock::Real() {
  static const SystemClock clock;
  return &clock;
}

std::string UtcDay(TimePoint t) {
  std::tm tm = ToUtc(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

std::int64_t UnixMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string Rfc3339Micros(TimePoint t) {
  std::tm tm = ToUtc(t);
  std::int64_t micros = UnixMicros(t) % 1000000;
  if (micros < 0) micros += 1000000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

}  // namespace strongroom

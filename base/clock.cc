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

// PutDigits writes `value` as `width` decimal digits at `at`.
// REQUIRES: 0 <= value < 10^width.
void PutDigits(char* at, int width, std::int64_t value) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
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
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {  // wider than four digits: as printf spells it
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", year, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
    return buf;
  }
  // Digit by digit: every audit group stamps one, and snprintf's format
  // parsing cost more than the rest of the conversion (issue 19).
  std::string text = "0000-00-00T00:00:00.000000Z";
  PutDigits(&text[0], 4, year);
  PutDigits(&text[5], 2, tm.tm_mon + 1);
  PutDigits(&text[8], 2, tm.tm_mday);
  PutDigits(&text[11], 2, tm.tm_hour);
  PutDigits(&text[14], 2, tm.tm_min);
  PutDigits(&text[17], 2, tm.tm_sec);
  PutDigits(&text[20], 6, micros);
  return text;
}

}  // namespace strongroom

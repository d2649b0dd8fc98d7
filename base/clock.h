// base/clock.h — an injectable wall clock, so tests can cross a UTC midnight.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace strongroom {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current UTC time.
  virtual TimePoint Now() const = 0;
  // Real returns the process-wide system clock (never null, never freed).
  static const Clock* Real();
};

// ManualClock is a clock a test moves by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : micros_(ToMicros(start)) {}
  TimePoint Now() const override {
    return TimePoint(std::chrono::microseconds(micros_.load(std::memory_order_relaxed)));
  }
  void Set(TimePoint t) { micros_.store(ToMicros(t), std::memory_order_relaxed); }
  void Advance(std::chrono::microseconds d) { micros_.fetch_add(d.count(), std::memory_order_relaxed); }

 private:
  static std::int64_t ToMicros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> micros_;
};

// UtcDay returns the UTC calendar day of `t` as "YYYY-MM-DD".
std::string UtcDay(TimePoint t);
// Rfc3339Micros returns `t` as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ".
std::string Rfc3339Micros(TimePoint t);
// UnixMicros returns microseconds since the epoch.
std::int64_t UnixMicros(TimePoint t);

}  // namespace strongroom

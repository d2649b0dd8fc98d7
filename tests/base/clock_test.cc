#include "base/clock.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

TEST(Clock, ManualClockCrossesUtcMidnight) {
  // 2026-11-23T23:59:59.5Z
  TimePoint t = TimePoint(std::chrono::seconds(1795478399)) + std::chrono::milliseconds(500);
  ManualClock clock(t);
  EXPECT_EQ(UtcDay(clock.Now()), "2026-11-23");
  EXPECT_EQ(Rfc3339Micros(clock.Now()), "2026-11-23T23:59:59.500000Z");
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(UtcDay(clock.Now()), "2026-11-24");
}

}  // namespace
}  // namespace strongroom

// RFC 3339 times in query parameters (api/wire/rfc3339_time.h): UTC and
// offsets, fractions kept to the microsecond, and days or times that do not
// exist refused with the parameter's name.
#include "api/wire/rfc3339_time.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

std::string Parsed(std::string_view text) {
  StatusOr<TimePoint> time = ParseRfc3339Time(text, "from");
  return time.has_value() ? Rfc3339Micros(*time) : "error: " + time.error().message();
}

TEST(Rfc3339Time, ReadsUtcTimesWithOrWithoutAFraction) {
  EXPECT_EQ(Parsed("2026-12-06T10:00:00Z"), "2026-12-06T10:00:00.000000Z");
  EXPECT_EQ(Parsed("2026-12-06t10:00:00z"), "2026-12-06T10:00:00.000000Z");
  EXPECT_EQ(Parsed("2026-12-06T10:00:00.5Z"), "2026-12-06T10:00:00.500000Z");
  EXPECT_EQ(Parsed("2026-12-06T10:00:00.123Z"), "2026-12-06T10:00:00.123000Z");
  EXPECT_EQ(Parsed("2026-12-06T10:00:00.123456789Z"), "2026-12-06T10:00:00.123456Z");
  EXPECT_EQ(Parsed("2024-02-29T23:59:59Z"), "2024-02-29T23:59:59.000000Z");
}

TEST(Rfc3339Time, AppliesOffsetsIncludingAPlusDecodedAsASpace) {
  EXPECT_EQ(Parsed("2026-12-06T10:00:00+01:00"), "2026-12-06T09:00:00.000000Z");
  EXPECT_EQ(Parsed("2026-12-06T10:00:00 01:30"), "2026-12-06T08:30:00.000000Z");
  EXPECT_EQ(Parsed("2026-12-31T23:30:00-01:00"), "2027-01-01T00:30:00.000000Z");
}

TEST(Rfc3339Time, RefusesWhatIsNoTimeNamingTheParameter) {
  for (const char* bad :
       {"", "yesterday", "2026-12-06", "2026-12-06T10:00:00", "2026-12-06 10:00:00Z",
        "2026-02-30T10:00:00Z", "2025-02-29T10:00:00Z", "2026-13-01T10:00:00Z",
        "2026-12-06T24:00:00Z", "2026-12-06T10:60:00Z", "2026-12-06T10:00:60Z",
        "2026-12-06T10:00:00.Z", "2026-12-06T10:00:00.1234567890Z", "2026-12-06T10:00:00+1:00",
        "2026-12-06T10:00:00+01:00x", "2026-12-06T10:00:00ZZ", "+2026-12-06T10:00:00Z"}) {
    StatusOr<TimePoint> time = ParseRfc3339Time(bad, "from");
    EXPECT_STATUS(time, StatusCode::kInvalidArgument) << bad;
    if (!time.has_value()) {
      EXPECT_TRUE(time.error().message().starts_with("from ")) << bad;
    }
  }
}

}  // namespace
}  // namespace strongroom::api

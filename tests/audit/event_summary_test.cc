// Summaries behind GET /api/audit/counts and the key inventory's rotations
// (audit/event_summary.h, issue 21), over a real log with rotated files:
// counts per hour, action and outcome, a coalesced record counted as the
// events it stands for, the time window, and the latest events of some
// actions, newest first.
#include "audit/event_summary.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using testing_support::AuditFixture;

class EventSummaryTest : public AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    if (HasFatalFailure()) return;
    WriteRotatedLog(
        30,
        [](int i) {
          audit::Event event =
              UserEvent(i % 3 == 0 ? "secret.securevalues:decrypt" : "keys:rotate-kek",
                        "op-" + std::to_string(i));
          if (i % 5 == 0) {
            event.outcome = audit::Outcome::kDenied;
            event.http_status = 403;
            event.reason = "forbidden";
          }
          return event;
        },
        [](audit::AuditLog& log) {
          for (int i = 0; i < 3; ++i) log.AuthenticationFailed("192.0.2.7", "invalid_password");
        });
  }

  // Totals sums the rows per "action outcome", over every hour.
  static std::map<std::string, std::uint64_t> Totals(const std::vector<audit::HourlyCount>& rows) {
    std::map<std::string, std::uint64_t> totals;
    for (const audit::HourlyCount& row : rows) {
      EXPECT_EQ(row.hour.size(), 20u) << row.hour;
      EXPECT_TRUE(row.hour.ends_with(":00:00Z")) << row.hour;
      EXPECT_GT(row.count, 0u);
      totals[row.action + " " + row.outcome] += row.count;
    }
    return totals;
  }

  static std::string At(std::chrono::hours offset) {
    return Rfc3339Micros(Clock::Real()->Now() + offset);
  }
};

TEST_F(EventSummaryTest, CountsEachActionAndOutcomeAndACoalescedRecordAsItsCount) {
  StatusOr<std::vector<audit::HourlyCount>> rows =
      audit::CountEventsByHour(LogDir(), At(std::chrono::hours(-2)), At(std::chrono::hours(1)));
  ASSERT_OK(rows);
  std::map<std::string, std::uint64_t> totals = Totals(*rows);
  // i in 0..29: decrypts at i % 3 == 0 (10), of which i % 15 == 0 denied (2).
  EXPECT_EQ(totals["secret.securevalues:decrypt allowed"], 8u);
  EXPECT_EQ(totals["secret.securevalues:decrypt denied"], 2u);
  EXPECT_EQ(totals["keys:rotate-kek allowed"], 16u);
  EXPECT_EQ(totals["keys:rotate-kek denied"], 4u);
  EXPECT_EQ(totals["authenticate denied"], 3u) << "one record standing for three failures";
  for (std::size_t i = 1; i < rows->size(); ++i) {
    const audit::HourlyCount &a = (*rows)[i - 1], &b = (*rows)[i];
    EXPECT_LT(std::tie(a.hour, a.action, a.outcome), std::tie(b.hour, b.action, b.outcome));
  }
}

TEST_F(EventSummaryTest, CountsOnlyInsideTheWindow) {
  StatusOr<std::vector<audit::HourlyCount>> later =
      audit::CountEventsByHour(LogDir(), At(std::chrono::hours(1)), At(std::chrono::hours(2)));
  ASSERT_OK(later);
  EXPECT_TRUE(later->empty());
  StatusOr<std::vector<audit::HourlyCount>> earlier =
      audit::CountEventsByHour(LogDir(), At(std::chrono::hours(-3)), At(std::chrono::hours(-2)));
  ASSERT_OK(earlier);
  EXPECT_TRUE(earlier->empty());
}

TEST_F(EventSummaryTest, LatestEventsAreTheNewestFirstAcrossRotatedFiles) {
  StatusOr<std::vector<audit::ParsedLine>> latest = audit::LatestEvents(
      LogDir(), [](const audit::ParsedLine& r) { return r.action == "keys:rotate-kek"; }, 5);
  ASSERT_OK(latest);
  std::vector<std::string> actors;
  for (const audit::ParsedLine& record : *latest) actors.push_back(record.actor_name);
  EXPECT_EQ(actors, (std::vector<std::string>{"op-29", "op-28", "op-26", "op-25", "op-23"}));
  StatusOr<std::vector<audit::ParsedLine>> none = audit::LatestEvents(
      LogDir(), [](const audit::ParsedLine& r) { return r.action == "keys:unknown"; }, 5);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(EventSummaryTest, AMissingLogIsNotFound) {
  EXPECT_STATUS(audit::CountEventsByHour(LogDir() + "-none", At(std::chrono::hours(-1)),
                                         At(std::chrono::hours(1))),
                StatusCode::kNotFound);
}

}  // namespace
}  // namespace strongroom

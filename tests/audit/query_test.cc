// Queries behind GET /api/audit/events and `strongroom audit show`: filters,
// the time range, pagination across rotated files, and refused parameters.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using testing_support::AuditFixture;

class QueryTest : public AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    if (HasFatalFailure()) return;
    WriteRotatedLog(60, [](int i) {
      audit::Event event =
          UserEvent(i % 3 == 0 ? "secret.securevalues:create" : "secret.securevalues:read",
                    i % 2 == 0 ? "alice" : "bob");
      event.resource.namespace_name = i % 4 == 0 ? "team-a" : "default";
      if (i % 5 == 0) {
        event.outcome = audit::Outcome::kDenied;
        event.http_status = 403;
        event.reason = "forbidden";
      }
      event.request_id = "req-" + std::to_string(i);
      return event;
    });
    if (HasFatalFailure()) return;
    records_ = Records();
  }

  static audit::EventFilter Filter(std::map<std::string, std::string> params) {
    auto filter =
        audit::ParseEventFilter([&params](std::string_view name) -> std::optional<std::string> {
          auto it = params.find(std::string(name));
          if (it == params.end()) return std::nullopt;
          return it->second;
        });
    EXPECT_OK(filter);
    return filter.value_or(audit::EventFilter{});
  }

  std::vector<audit::ParsedLine> Query(const audit::EventFilter& filter) {
    auto page = audit::QueryEvents(LogDir(), filter);
    EXPECT_OK(page);
    std::vector<audit::ParsedLine> out;
    if (!page.has_value()) return out;
    for (const std::string& line : page->records) out.push_back(*audit::ParseLine(line));
    return out;
  }

  std::vector<audit::ParsedLine> records_;
};

TEST_F(QueryTest, FiltersSelectExactlyTheMatchingEvents) {
  auto got = Query(Filter({{"actor", "alice"},
                           {"action", "secret.securevalues:create"},
                           {"namespace", "team-a"},
                           {"outcome", "denied"},
                           {"limit", "1000"}}));
  std::size_t expected = 0;
  for (const auto& r : records_) {
    expected += r.actor_name == "alice" && r.action == "secret.securevalues:create" &&
                r.namespace_name == "team-a" && r.outcome == "denied";
  }
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(got.size(), expected);
  for (const auto& r : got) {
    EXPECT_EQ(r.actor_name, "alice");
    EXPECT_EQ(r.action, "secret.securevalues:create");
    EXPECT_EQ(r.namespace_name, "team-a");
    EXPECT_EQ(r.outcome, "denied");
  }
  for (const auto& r : Query(Filter({{"outcome", "allowed"}, {"limit", "1000"}}))) {
    EXPECT_NE(r.type, audit::RecordType::kCheckpoint) << "a checkpoint has no outcome";
  }
}

TEST_F(QueryTest, PagesFollowTheCursorAcrossRotatedFilesWithoutGapsOrRepeats) {
  audit::EventFilter filter = Filter({{"limit", "7"}});
  std::vector<std::uint64_t> seen;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = audit::QueryEvents(LogDir(), filter);
    ASSERT_OK(page);
    EXPECT_LE(page->records.size(), 7u);
    for (const std::string& line : page->records) seen.push_back(audit::ParseLine(line)->seq);
    if (!page->next_after_seq) break;
    filter.after_seq = *page->next_after_seq;
  }
  ASSERT_EQ(seen.size(), records_.size()) << "unfiltered pages return every record";
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
}

TEST_F(QueryTest, NewestFirstPagesBackwardsAcrossRotatedFilesWithoutGapsOrRepeats) {
  audit::EventFilter filter = Filter({{"limit", "7"}, {"order", "newest"}});
  ASSERT_TRUE(filter.newest_first);
  std::vector<std::uint64_t> seen;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = audit::QueryEvents(LogDir(), filter);
    ASSERT_OK(page);
    EXPECT_LE(page->records.size(), 7u);
    for (const std::string& line : page->records) seen.push_back(audit::ParseLine(line)->seq);
    if (!page->next_after_seq) break;
    filter.before_seq = *page->next_after_seq;
  }
  ASSERT_EQ(seen.size(), records_.size()) << "unfiltered pages return every record";
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], records_.size() - i);

  // Filtered, through the parsed cursor: the same records as oldest first,
  // in reverse.
  std::vector<std::uint64_t> oldest, newest;
  for (const auto& r : Query(Filter({{"actor", "bob"}, {"limit", "1000"}}))) oldest.push_back(r.seq);
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    std::map<std::string, std::string> params = {{"actor", "bob"}, {"limit", "4"}, {"order", "newest"}};
    if (!cursor.empty()) params["continue"] = cursor;
    auto page = audit::QueryEvents(LogDir(), Filter(params));
    ASSERT_OK(page);
    for (const std::string& line : page->records) newest.push_back(audit::ParseLine(line)->seq);
    if (!page->next_after_seq) break;
    cursor = std::to_string(*page->next_after_seq);
  }
  ASSERT_FALSE(oldest.empty());
  EXPECT_EQ(std::vector<std::uint64_t>(oldest.rbegin(), oldest.rend()), newest);
}

TEST_F(QueryTest, TheTimeRangeIsInclusiveAtBothEnds) {
  const audit::ParsedLine& from = records_[10];
  const audit::ParsedLine& to = records_[20];
  auto got = Query(Filter({{"since", from.time}, {"until", to.time}, {"limit", "1000"}}));
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.front().seq, from.seq);  // records may share a microsecond
  EXPECT_GE(got.back().seq, to.seq);
  for (const auto& r : got) {
    EXPECT_GE(r.time, from.time);
    EXPECT_LE(r.time, to.time);
  }
  // Second precision is accepted too.
  EXPECT_FALSE(Query(Filter({{"since", from.time.substr(0, 19) + "Z"}})).empty());
}

TEST_F(QueryTest, BadParametersAreRefusedWithAClearMessage) {
  const std::map<std::string, std::string> bad[] = {
      {{"since", "yesterday"}}, {{"until", "2026-13-01"}}, {{"outcome", "ok"}},
      {{"limit", "0"}},         {{"limit", "1001"}},       {{"limit", "ten"}},
      {{"continue", "-1"}},     {{"continue", "12abc"}},   {{"order", "backwards"}}};
  for (const auto& params : bad) {
    auto filter =
        audit::ParseEventFilter([&params](std::string_view name) -> std::optional<std::string> {
          auto it = params.find(std::string(name));
          if (it == params.end()) return std::nullopt;
          return it->second;
        });
    ASSERT_STATUS(filter, StatusCode::kInvalidArgument)
        << params.begin()->first << "=" << params.begin()->second;
    EXPECT_NE(filter.error().message().find(params.begin()->first), std::string::npos)
        << filter.error();
  }
}

}  // namespace
}  // namespace strongroom

// The deferred start-up verification (issue 19, AuditLogOptions::
// defer_verification): Open reads current.jsonl only from the anchored
// checkpoint; the lines before it and the owner's checks (the server's
// store re-MAC) run after Open, and until they have passed nothing is
// signed or anchored; a failure fails closed for good.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "audit/tail_reader.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom::testing_support {
namespace {

using audit::AnchorMode;
using audit::StartupVerification;

class AuditStartupTest : public AuditFixture {
 protected:
  static std::string Digest() { return std::string(64, 'd'); }
  static constexpr std::uint64_t kRv = 7;

  audit::AuditLogOptions Anchored(AnchorMode mode = AnchorMode::kRequire) {
    audit::AuditLogOptions options = Options();
    options.anchor = audit::NewTokenAnchorKeeper(*service_);
    options.anchor_mode = mode;
    return options;
  }

  // Deferred are the server's options: tail-first, with `checks` beside
  // the log's own; a checkpoint is due after every record, so any
  // signature the log would make shows at once.
  audit::AuditLogOptions Deferred(std::vector<audit::StartupCheck> checks = {}) {
    audit::AuditLogOptions options = Anchored();
    options.defer_verification = true;
    options.deferred_checks = std::move(checks);
    options.checkpoint_every_records = 1;
    return options;
  }

  // WriteAnchoredLog writes `events` records sealed every 10, closes the
  // log (its final checkpoint is anchored) and returns that head.
  audit::Head WriteAnchoredLog(int events) {
    audit::AuditLogOptions options = Anchored(AnchorMode::kNewStore);
    options.checkpoint_every_records = 10;
    auto log = Open(options, FixedState(kRv, Digest()));
    EXPECT_OK(log);
    if (!log.has_value()) return {};
    for (int i = 0; i < events; ++i) EXPECT_OK((*log)->Record(UserEvent("x:y")));
    EXPECT_OK((*log)->Close());
    return (*log)->head();
  }

  std::uint64_t AnchoredSeq() {
    auto anchor = crypto::ReadTrustAnchor(*token_);
    EXPECT_OK(anchor);
    return anchor.has_value() && *anchor ? (*anchor)->sealed_seq : 0;
  }

  // AlterEventFrom changes a name in the first event of alice at or after
  // line `index` (0-based) of current.jsonl without fixing its hash, so
  // that line no longer verifies, and returns its 1-based line number.
  std::size_t AlterEventFrom(std::size_t index) {
    std::vector<std::string> lines = Lines();
    for (std::size_t i = index; i < lines.size(); ++i) {
      const std::size_t at = lines[i].find("alice");
      if (at == std::string::npos) continue;
      lines[i].replace(at, 5, "mallo");
      std::string bytes;
      for (const std::string& line : lines) bytes += line + "\n";
      EXPECT_TRUE(WriteFileBytes(CurrentFile(), bytes));
      return i + 1;
    }
    ADD_FAILURE() << "no event of alice after line " << index;
    return 0;
  }

  // ExpectFailedClosed checks a log whose deferred verification failed:
  // it refuses records, is unhealthy, and never signs.
  void ExpectFailedClosed(audit::AuditLog& log, const std::string& says) {
    Status outcome = log.AwaitStartupVerification();
    EXPECT_STATUS(outcome, StatusCode::kIntegrityError);
    EXPECT_NE(outcome.message().find(says), std::string::npos) << outcome;
    EXPECT_EQ(log.stats().startup_verification, StartupVerification::kFailed);
    EXPECT_FALSE(log.healthy());
    EXPECT_NE(log.problem().find("start-up verification failed"), std::string::npos)
        << log.problem();
    EXPECT_STATUS(log.Record(UserEvent("x:after")), StatusCode::kUnavailable);
    (void)log.Close();
    EXPECT_EQ(log.stats().checkpoints, 0u) << "nothing is signed past the failure";
  }
};

TEST_F(AuditStartupTest, TheLogSignsNothingUntilTheDeferredChecksPassThenSealsAndAnchors) {
  const audit::Head closed = WriteAnchoredLog(25);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto log = Open(Deferred({[released] {
                    released.wait();
                    return Status::Ok();
                  }}),
                  FixedState(kRv, Digest()));
  ASSERT_OK(log);
  EXPECT_EQ((*log)->stats().startup_verification, StartupVerification::kPending);
  // A checkpoint is due after every record: none is signed while pending.
  ASSERT_OK((*log)->Record(UserEvent("x:pending")));
  EXPECT_EQ((*log)->stats().checkpoints, 0u);
  EXPECT_EQ(AnchoredSeq(), closed.seq) << "nothing is anchored while pending";
  EXPECT_TRUE((*log)->healthy()) << (*log)->problem();

  release.set_value();
  EXPECT_OK((*log)->AwaitStartupVerification());
  EXPECT_EQ((*log)->stats().startup_verification, StartupVerification::kPassed);
  ASSERT_OK((*log)->Record(UserEvent("x:passed")));
  EXPECT_GE((*log)->stats().checkpoints, 1u) << "signing resumes once the checks passed";
  ASSERT_OK((*log)->Close());
  EXPECT_EQ(AnchoredSeq(), (*log)->head().seq);
  audit::VerifyOptions sealed;
  sealed.require_sealed = true;
  audit::VerifyReport report = VerifyLog(sealed);
  EXPECT_TRUE(report.ok) << report.Summary();
}

TEST_F(AuditStartupTest, ATamperedRecordInTheMiddleFailsTheServerClosedAndIsNeverSigned) {
  const audit::Head closed = WriteAnchoredLog(25);
  const std::string line = "line " + std::to_string(AlterEventFrom(12));
  // Read whole (the CLI, or without deferral), the start is refused.
  auto refused = Open(Anchored(), FixedState(kRv, Digest()));
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find(line), std::string::npos) << refused.error();
  // Tail-first, Open reads only the anchored checkpoint and succeeds; the
  // deferred check then finds that line and the log fails closed.
  const std::string before = ReadFileBytes(CurrentFile());
  auto log = Open(Deferred(), FixedState(kRv, Digest()));
  ASSERT_OK(log);
  ExpectFailedClosed(**log, line);
  EXPECT_EQ(AnchoredSeq(), closed.seq) << "the anchor stays where it was";
  EXPECT_TRUE(ReadFileBytes(CurrentFile()).starts_with(before));
}

TEST_F(AuditStartupTest, AFailedDeferredCheckOfTheOwnerFailsTheLogClosed) {
  const audit::Head closed = WriteAnchoredLog(5);
  std::promise<Status> told;
  audit::AuditLogOptions options = Deferred({[] {
    return Status::IntegrityError("the store was modified outside Strongroom: a record");
  }});
  options.on_verified = [&told](const Status& outcome) { told.set_value(outcome); };
  auto log = Open(options, FixedState(kRv, Digest()));
  ASSERT_OK(log);
  ExpectFailedClosed(**log, "modified outside Strongroom");
  Status reported = told.get_future().get();
  EXPECT_STATUS(reported, StatusCode::kIntegrityError);
  EXPECT_EQ(AnchoredSeq(), closed.seq);
}

TEST_F(AuditStartupTest, AForgedOrCutTailIsStillRefusedAtOpen) {
  WriteAnchoredLog(25);
  std::vector<std::string> lines = Lines();
  // The anchored checkpoint (the last line) removed: the log ends below it.
  std::string cut;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) cut += lines[i] + "\n";
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), cut));
  auto short_log = Open(Deferred(), FixedState(kRv, Digest()));
  ASSERT_FALSE(short_log.has_value());
  EXPECT_NE(short_log.error().message().find("ends at record"), std::string::npos)
      << short_log.error();
  // The anchored record replaced by another line numbered like it.
  std::string forged = cut;
  audit::Event event = UserEvent("forged:event");
  auto last = audit::ParseLine(lines[lines.size() - 2]);
  ASSERT_OK(last);
  std::string hash;
  forged +=
      audit::EncodeLine(last->seq + 1, "2026-12-06T00:00:00.000000Z", audit::RecordType::kEvent,
                        &event, nullptr, std::nullopt, last->hash, &hash);
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), forged));
  auto rewritten = Open(Deferred(), FixedState(kRv, Digest()));
  ASSERT_FALSE(rewritten.has_value());
  EXPECT_NE(rewritten.error().message().find("rewritten"), std::string::npos) << rewritten.error();
}

TEST_F(AuditStartupTest, AnIncompleteFinalLineAfterTheTailIsQuarantinedAsBefore) {
  WriteAnchoredLog(25);
  const std::string honest = ReadFileBytes(CurrentFile());
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), honest + "{\"seq\":999,\"time\":\"2026"));
  auto log = Open(Deferred(), FixedState(kRv, Digest()));
  ASSERT_OK(log);
  EXPECT_OK((*log)->AwaitStartupVerification());
  ASSERT_OK((*log)->Close());
  bool quarantined = false;
  for (const audit::ParsedLine& r : Records()) {
    quarantined = quarantined || r.action == "audit.recovery.quarantine";
  }
  EXPECT_TRUE(quarantined);
  audit::VerifyOptions sealed;
  sealed.require_sealed = true;
  audit::VerifyReport report = VerifyLog(sealed);
  EXPECT_TRUE(report.ok) << report.Summary();
}

TEST_F(AuditStartupTest, UncommittedWritesBeforeTheTailGetNotCommittedRecordsOnceVerified) {
  // A write whose record was sealed and anchored but whose store commit
  // never happened (a crash): its resourceVersion is above the store's.
  {
    audit::AuditLogOptions options = Anchored(AnchorMode::kNewStore);
    auto log = Open(options, FixedState(kRv, Digest()));
    ASSERT_OK(log);
    audit::Event write = UserEvent("secret.securevalues:create");
    write.resource_version = kRv + 1;
    ASSERT_OK((*log)->Record(write));
    for (int i = 0; i < 3; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
    ASSERT_OK((*log)->Close());
  }
  auto log = Open(Deferred(), FixedState(kRv, Digest()));
  ASSERT_OK(log);
  EXPECT_OK((*log)->AwaitStartupVerification());
  ASSERT_OK((*log)->Close());
  std::uint64_t write_seq = 0, cancelled = 0;
  for (const audit::ParsedLine& r : Records()) {
    if (r.action == "secret.securevalues:create" && r.type == audit::RecordType::kEvent)
      write_seq = r.seq;
    if (r.type == audit::RecordType::kNotCommitted && r.refers_to) cancelled = *r.refers_to;
  }
  ASSERT_GT(write_seq, 0u);
  EXPECT_EQ(cancelled, write_seq) << "found by the deferred check, before the anchored record";
}

TEST_F(AuditStartupTest, FindRecordStartFindsTheLineOfARecordFromTheEnd) {
  WriteAnchoredLog(25);
  std::vector<std::string> lines = Lines();
  std::vector<std::uint64_t> offsets;
  std::uint64_t at = 0;
  for (const std::string& line : lines) {
    offsets.push_back(at);
    at += line.size() + 1;
  }
  std::string bytes = ReadFileBytes(CurrentFile()) + "{\"seq\":9";  // incomplete
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), bytes));
  audit::OpenFile file(::open(CurrentFile().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_GE(file.get(), 0);
  for (std::size_t i : {std::size_t{0}, std::size_t{1}, lines.size() / 2, lines.size() - 1}) {
    auto found = audit::FindRecordStart(file.get(), bytes.size(), i + 1);
    ASSERT_OK(found);
    ASSERT_TRUE(found->has_value()) << "record " << i + 1;
    EXPECT_EQ(**found, offsets[i]) << "record " << i + 1;
  }
  auto beyond = audit::FindRecordStart(file.get(), bytes.size(), lines.size() + 1);
  ASSERT_OK(beyond);
  EXPECT_FALSE(beyond->has_value()) << "the incomplete line is never returned";
  // A line the writer did not write stops the search: the caller reads all.
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), lines[0] + "\n{ \"seq\":2}\n" + lines[2] + "\n"));
  audit::OpenFile odd(::open(CurrentFile().c_str(), O_RDONLY | O_CLOEXEC));
  auto stopped = audit::FindRecordStart(odd.get(), ReadFileBytes(CurrentFile()).size(), 1);
  ASSERT_OK(stopped);
  EXPECT_FALSE(stopped->has_value());
}

}  // namespace
}  // namespace strongroom::testing_support

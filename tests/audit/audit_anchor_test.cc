// The audit log against its trust anchor (SPEC 8, issue 16): what Open
// refuses, what it anchors, and what the log does when someone else
// changes its file while it runs. The anchor keeper here is the real one,
// in the test's SoftHSM token.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/audit/audit_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom::testing_support {
namespace {

using audit::AnchorMode;
using audit::ParsedLine;
using audit::RecordType;

class AuditAnchorTest : public AuditFixture {
 protected:
  audit::AuditLogOptions AnchoredOptions(AnchorMode mode = AnchorMode::kRequire) {
    audit::AuditLogOptions options = Options();
    options.anchor = audit::NewTokenAnchorKeeper(*service_);
    options.anchor_mode = mode;
    return options;
  }

  // WriteAnchoredLog makes a new log of `events` records over a store at
  // `rv`, closes it (its final checkpoint is anchored) and returns the head.
  audit::Head WriteAnchoredLog(int events, std::uint64_t rv) {
    auto log = Open(AnchoredOptions(AnchorMode::kNewStore), FixedState(rv, Digest('d')));
    EXPECT_OK(log);
    if (!log.has_value()) return {};
    for (int i = 0; i < events; ++i) EXPECT_OK((*log)->Record(UserEvent("x:y")));
    EXPECT_OK((*log)->Close());
    return (*log)->head();
  }

  std::optional<crypto::TrustAnchor> Anchor() {
    auto anchor = crypto::ReadTrustAnchor(*token_);
    EXPECT_OK(anchor);
    return anchor.has_value() ? *anchor : std::nullopt;
  }

  static std::string Digest(char c) { return std::string(64, c); }

  // Rechain rewrites lines [from, end) as forged events chained from line
  // from-1, renumbered, with valid hashes and no checkpoint: what someone
  // who can write files but cannot sign produces.
  static std::string Rechain(const std::vector<std::string>& lines, std::size_t keep,
                             std::size_t forged) {
    std::string out;
    std::string prev(audit::kZeroHash);
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < keep; ++i) {
      out += lines[i] + "\n";
      auto parsed = audit::ParseLine(lines[i]);
      prev = parsed->hash;
      seq = parsed->seq;
    }
    for (std::size_t i = 0; i < forged; ++i) {
      audit::Event event = UserEvent("forged:event");
      std::string hash;
      out += audit::EncodeLine(++seq, "2026-12-06T00:00:00.000000Z", RecordType::kEvent, &event,
                               nullptr, std::nullopt, prev, &hash);
      prev = hash;
    }
    return out;
  }

  static void ExpectRefused(const StatusOr<std::unique_ptr<audit::AuditLog>>& log,
                            const std::string& says) {
    ASSERT_STATUS(log, StatusCode::kFailedPrecondition);
    EXPECT_NE(log.error().message().find(says), std::string::npos) << log.error();
    EXPECT_NE(log.error().message().find("start-up refused"), std::string::npos) << log.error();
  }
};

TEST_F(AuditAnchorTest, CloseAnchorsTheFinalCheckpointAndTheStoreState) {
  audit::Head head = WriteAnchoredLog(5, 42);
  auto anchor = Anchor();
  ASSERT_TRUE(anchor.has_value());
  EXPECT_EQ(anchor->sealed_seq, head.seq);
  EXPECT_EQ(anchor->head_hash, head.hash);
  EXPECT_EQ(anchor->resource_version, 42u);
  EXPECT_EQ(anchor->store_digest, Digest('d'));
  std::vector<ParsedLine> records = Records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(anchor->log_id, records.front().hash) << "the log id is its first record's hash";
  EXPECT_EQ(records.back().type, RecordType::kCheckpoint);
  // The same files and store open again.
  auto again = Open(AnchoredOptions(), FixedState(42, Digest('d')));
  EXPECT_OK(again);
}

TEST_F(AuditAnchorTest, ALogCutBeforeTheAnchoredHeadIsRefusedAndLeftAlone) {
  WriteAnchoredLog(6, 10);
  std::vector<std::string> lines = Lines();
  std::string cut;
  for (std::size_t i = 0; i + 2 < lines.size(); ++i) cut += lines[i] + "\n";
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), cut));
  ExpectRefused(Open(AnchoredOptions(), FixedState(10, Digest('d'))), "ends at record");
  EXPECT_EQ(ReadFileBytes(CurrentFile()), cut) << "a refused start writes nothing";
}

TEST_F(AuditAnchorTest, ALogRewrittenWithValidHashesIsRefused) {
  WriteAnchoredLog(6, 10);
  std::vector<std::string> lines = Lines();
  // Drop records 3.. and forge as many as there were, plus some: the log
  // is as long as before and its hashes all verify.
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), Rechain(lines, 2, lines.size())));
  ExpectRefused(Open(AnchoredOptions(), FixedState(10, Digest('d'))), "rewritten");
}

TEST_F(AuditAnchorTest, AMissingOrRestartedLogBesideTheAnchorIsRefused) {
  WriteAnchoredLog(3, 10);
  ASSERT_EQ(::unlink(CurrentFile().c_str()), 0);
  ExpectRefused(Open(AnchoredOptions(), FixedState(10, Digest('d'))), "missing or empty");
  // A new log started over (another first record) is not the anchored one.
  {
    audit::AuditLogOptions unanchored = Options();  // no keeper: writes a fresh log
    auto fresh = Open(unanchored, FixedState(0));
    ASSERT_OK(fresh);
    for (int i = 0; i < 20; ++i) ASSERT_OK((*fresh)->Record(UserEvent("x:y")));
  }
  ExpectRefused(Open(AnchoredOptions(), FixedState(10, Digest('d'))), "not the one the token anchors");
}

TEST_F(AuditAnchorTest, AStoreBelowTheAnchorIsRefusedExceptByARestore) {
  WriteAnchoredLog(3, 50);
  ExpectRefused(Open(AnchoredOptions(), FixedState(49, Digest('d'))), "rolled back");
  ExpectRefused(Open(AnchoredOptions(), FixedState(50, Digest('e'))), "replaced");
  // A restore installs an older store deliberately, and anchors it.
  audit::AuditLogOptions restoring = AnchoredOptions(AnchorMode::kRestore);
  restoring.check_rollback = false;
  {
    auto restore = Open(restoring, FixedState(20, Digest('f')));
    ASSERT_OK(restore);
    ASSERT_OK((*restore)->Record(UserEvent("store.restore")));
    ASSERT_OK((*restore)->Close());
  }
  EXPECT_EQ(Anchor()->resource_version, 20u);
  EXPECT_OK(Open(AnchoredOptions(), FixedState(20, Digest('f'))));
}

TEST_F(AuditAnchorTest, AStoreAndLogWithoutAnchorNeedAnAdoptWhichReplacesIt) {
  {
    auto log = Open(Options(), FixedState(5));  // written before anchors existed
    ASSERT_OK(log);
    ASSERT_OK((*log)->Record(UserEvent("x:y")));
  }
  ExpectRefused(Open(AnchoredOptions(), FixedState(5)), "strongroom anchor adopt");
  // An empty store and no log: a new appliance, nothing to protect yet.
  {
    audit::AuditLogOptions elsewhere = AnchoredOptions();
    elsewhere.dir = LogDir() + "-new";
    EXPECT_OK(Open(elsewhere, FixedState(0)));
  }
  {
    auto adopt = Open(AnchoredOptions(AnchorMode::kAdopt), FixedState(5));
    ASSERT_OK(adopt);
    ASSERT_OK((*adopt)->Record(UserEvent("anchor.adopt")));
    ASSERT_OK((*adopt)->Close());
  }
  auto anchor = Anchor();
  ASSERT_TRUE(anchor.has_value());
  EXPECT_EQ(anchor->sealed_seq, Records().back().seq);
  EXPECT_OK(Open(AnchoredOptions(), FixedState(5)));
}

TEST_F(AuditAnchorTest, AnotherWritersSealedGroupsAreAdoptedAndVouchForTheirWrites) {
  WriteAnchoredLog(1, 3);  // `init`
  auto server = Open(AnchoredOptions(), FixedState(3, Digest('d')));
  ASSERT_OK(server);
  ASSERT_OK((*server)->Record(UserEvent("x:y")));
  {
    audit::AuditLogOptions cli = AnchoredOptions();
    cli.seal_every_group = true;
    cli.cancel_uncommitted_at_open = false;
    auto other = Open(cli, FixedState(3, Digest('d')));
    ASSERT_OK(other);
    audit::Event write = UserEvent("user:create");
    write.resource_version = 4;
    ASSERT_OK((*other)->Record(write));
    ASSERT_OK((*other)->Close());
  }
  auto vouched = (*server)->AdoptNow();
  ASSERT_OK(vouched);
  EXPECT_EQ(*vouched, 4u);
  ASSERT_OK((*server)->Record(UserEvent("x:z")));
  EXPECT_TRUE((*server)->healthy()) << (*server)->problem();
  ASSERT_OK((*server)->Close());
  audit::VerifyOptions verify;
  verify.public_key_pem = public_key_pem_;
  audit::VerifyReport report = audit::VerifyDirectory(LogDir(), verify);
  EXPECT_TRUE(report.ok) << report.Summary();
}

TEST_F(AuditAnchorTest, UnsealedLinesAppendedByAnotherProcessStopTheLogForGood) {
  audit::AuditLogOptions options = AnchoredOptions(AnchorMode::kNewStore);
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options, FixedState(3));
  ASSERT_OK(log);
  ASSERT_OK((*log)->Record(UserEvent("x:y")));
  const std::uint64_t checkpoints_before = (*log)->stats().checkpoints;
  // Someone appends a record that chains and hashes correctly, unsigned.
  std::vector<std::string> lines = Lines();
  std::string forged = Rechain(lines, lines.size(), 1);
  ASSERT_TRUE(WriteFileBytes(CurrentFile() + ".tmp", forged));
  ASSERT_EQ(::rename((CurrentFile() + ".tmp").c_str(), CurrentFile().c_str()), 0);
  Status refused = (*log)->Record(UserEvent("x:z"));
  EXPECT_STATUS(refused, StatusCode::kUnavailable);
  EXPECT_FALSE((*log)->healthy());
  EXPECT_NE((*log)->problem().find("altered outside Strongroom"), std::string::npos);
  EXPECT_TRUE((*log)->stats().tampered);
  auto adopt = (*log)->AdoptNow();
  ASSERT_STATUS(adopt, StatusCode::kIntegrityError);
  (void)(*log)->Close();
  EXPECT_EQ((*log)->stats().checkpoints, checkpoints_before) << "the forged head is never signed";
  EXPECT_EQ(ReadFileBytes(CurrentFile()), forged) << "nothing is written after tampering";
}

TEST_F(AuditAnchorTest, AFileThatShrankUnderTheLogIsTampering) {
  audit::AuditLogOptions options = AnchoredOptions(AnchorMode::kNewStore);
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options, FixedState(3));
  ASSERT_OK(log);
  for (int i = 0; i < 3; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
  std::vector<std::string> lines = Lines();
  std::string shorter;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) shorter += lines[i] + "\n";
  ASSERT_EQ(::truncate(CurrentFile().c_str(), static_cast<off_t>(shorter.size())), 0);
  EXPECT_STATUS((*log)->Record(UserEvent("x:z")), StatusCode::kUnavailable);
  EXPECT_TRUE((*log)->stats().tampered);
}

TEST_F(AuditAnchorTest, RecordsAfterTheLastCheckpointAreNamedAtTheNextStart) {
  audit::AuditLogOptions options = AnchoredOptions(AnchorMode::kNewStore);
  options.checkpoint_interval = std::chrono::hours(1);
  {
    auto log = Open(options, FixedState(3));
    ASSERT_OK(log);
    ASSERT_OK((*log)->Close());  // anchored
  }
  // Records written after the last checkpoint by a process that died
  // before sealing them (here: appended as such a process would).
  std::vector<std::string> lines = Lines();
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), Rechain(lines, lines.size(), 2)));
  auto log = Open(AnchoredOptions(), FixedState(3));
  ASSERT_OK(log);
  ASSERT_OK((*log)->Close());
  bool named = false;
  for (const ParsedLine& r : Records()) named = named || r.action == "audit.recovery.unsealed";
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace strongroom::testing_support

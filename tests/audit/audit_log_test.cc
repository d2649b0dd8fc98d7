// The audit log against a real token (checkpoints signed by its audit key)
// and real files: what a new log holds, chaining, checkpoints, rotation,
// restarts, crash recovery, the rollback check, and the records a store
// write gets.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "storage/storage.h"
#include "tests/audit/audit_fixture.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using audit::ParsedLine;
using audit::RecordType;
using testing_support::AuditFixture;
using testing_support::ReadFileBytes;
using testing_support::WriteFileBytes;

class AuditLogTest : public AuditFixture {};

TEST_F(AuditLogTest, ANewLogOpensWithItsKeyFingerprintAndIsSealedAtClose) {
  auto log = Open(Options());
  ASSERT_OK(log);
  EXPECT_EQ((*log)->key_sha256(), key_sha256_);
  ASSERT_OK((*log)->Close());
  std::vector<ParsedLine> records = Records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].seq, 1u);
  EXPECT_EQ(records[0].action, audit::kLogCreatedAction);
  EXPECT_EQ(records[0].key_sha256, key_sha256_);
  EXPECT_EQ(records[0].prev, audit::kZeroHash);
  EXPECT_EQ(records[1].type, RecordType::kCheckpoint);
  EXPECT_TRUE(VerifyLog({.require_sealed = true}).ok) << VerifyLog().Summary();
  struct stat st {};
  ASSERT_EQ(::stat(CurrentFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the log must be private to the appliance user";
}

TEST_F(AuditLogTest, RecordReturnsOnceTheRecordIsOnDiskAndChained) {
  auto log = Open(Options());
  ASSERT_OK(log);
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK((*log)->Record(UserEvent("secret.securevalues:read")));
  }
  // Read the file while the log is still open: Record promised durability.
  std::vector<ParsedLine> records = Records();
  std::vector<ParsedLine> reads;
  for (const ParsedLine& r : records) {
    if (r.action == "secret.securevalues:read") reads.push_back(r);
  }
  ASSERT_EQ(reads.size(), 5u);
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq, records[i - 1].seq + 1);
    EXPECT_EQ(records[i].prev, records[i - 1].hash);
  }
  EXPECT_EQ(reads[0].actor_kind, "user");
  EXPECT_EQ(reads[0].actor_name, "alice");
  EXPECT_EQ(reads[0].namespace_name, "default");
  EXPECT_EQ(reads[0].outcome, "allowed");
  EXPECT_EQ((*log)->head().seq, records.back().seq);
  EXPECT_EQ((*log)->head().hash, records.back().hash);
}

TEST_F(AuditLogTest, CheckpointsFollowEveryNRecordsAndCoverTheStoreState) {
  audit::AuditLogOptions options = Options();
  options.checkpoint_every_records = 10;
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options, FixedState(42, std::string(64, 'a')));
  ASSERT_OK(log);
  for (int i = 0; i < 25; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
  std::size_t sealed_while_open = 0;
  for (const ParsedLine& r : Records()) sealed_while_open += r.type == RecordType::kCheckpoint;
  EXPECT_GE(sealed_while_open, 2u);
  ASSERT_OK((*log)->Close());
  std::vector<ParsedLine> records = Records();
  ASSERT_EQ(records.back().type, RecordType::kCheckpoint);
  const audit::CheckpointBody& body = *records.back().checkpoint;
  EXPECT_EQ(body.head_seq, records.back().seq - 1);
  EXPECT_EQ(body.head_hash, records[records.size() - 2].hash);
  EXPECT_EQ(body.resource_version, 42u);
  EXPECT_EQ(body.store_digest, std::string(64, 'a'));
  EXPECT_EQ(body.key_sha256, key_sha256_);
  audit::VerifyReport report = VerifyLog({.require_sealed = true});
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.checkpoints, sealed_while_open + 1);
}

TEST_F(AuditLogTest, ADueCheckpointSharesItsGroupsWriteAndSync) {
  audit::AuditLogOptions options = Options();
  options.checkpoint_every_records = 10;
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options, FixedState(7));
  ASSERT_OK(log);
  const audit::AuditStats before = (*log)->stats();
  // One RecordAll is queued at once, so the sequencer takes it as one group.
  std::vector<audit::Event> events;
  for (int i = 0; i < 10; ++i) events.push_back(UserEvent("x:y"));
  ASSERT_OK((*log)->RecordAll(std::move(events)));
  const audit::AuditStats after = (*log)->stats();
  EXPECT_EQ(after.checkpoints, before.checkpoints + 1);
  EXPECT_EQ(after.fsyncs, before.fsyncs + 1) << "the checkpoint took a sync of its own";
  EXPECT_EQ(after.records, before.records + 11);
  std::vector<ParsedLine> records = Records();
  ASSERT_EQ(records.back().type, RecordType::kCheckpoint);
  EXPECT_EQ(records[records.size() - 2].action, "x:y");
  EXPECT_EQ(records.back().checkpoint->head_seq, records.back().seq - 1);
  EXPECT_EQ(records.back().checkpoint->head_hash, records[records.size() - 2].hash);
  EXPECT_EQ(records.back().checkpoint->resource_version, 7u);
  EXPECT_TRUE(VerifyLog({.require_sealed = true}).ok) << VerifyLog().Summary();
}

TEST_F(AuditLogTest, ATimedCheckpointSealsActivityWithinAboutASecond) {
  auto log = Open(Options());
  ASSERT_OK(log);
  ASSERT_OK((*log)->Record(UserEvent("x:y")));
  bool sealed = false;
  for (int i = 0; i < 50 && !sealed; ++i) {  // bounded: 5 s
    usleep(100'000);
    sealed = Records().back().type == RecordType::kCheckpoint;
  }
  EXPECT_TRUE(sealed) << "no checkpoint after one record and 5 s of quiet";
}

TEST_F(AuditLogTest, RotationKeepsOneChainAcrossFilesWithACheckpointClosingEachFile) {
  audit::AuditLogOptions options = Options();
  options.max_file_bytes = 3000;
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options);
  ASSERT_OK(log);
  for (int i = 0; i < 40; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
  ASSERT_OK((*log)->Close());
  std::size_t rotated = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LogDir())) {
    std::string name = entry.path().filename();
    if (!name.starts_with("audit-")) continue;
    ++rotated;
    std::string text = ReadFileBytes(entry.path());
    std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
    EXPECT_NE(last.find("\"type\":\"checkpoint\""), std::string::npos) << name;
  }
  EXPECT_GE(rotated, 3u);
  audit::VerifyReport report = VerifyLog({.require_sealed = true});
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.records, Records().size());
}

TEST_F(AuditLogTest, AReopenedLogContinuesTheChain) {
  audit::Head first_head;
  {
    auto log = Open(Options());
    ASSERT_OK(log);
    ASSERT_OK((*log)->Record(UserEvent("x:y")));
    ASSERT_OK((*log)->Close());
    first_head = (*log)->head();
  }
  auto log = Open(Options());
  ASSERT_OK(log);
  ASSERT_OK((*log)->Record(UserEvent("x:z")));
  ASSERT_OK((*log)->Close());
  std::vector<ParsedLine> records = Records();
  ASSERT_GT(records.size(), first_head.seq);
  EXPECT_EQ(records[first_head.seq].prev, first_head.hash);
  std::size_t created = 0;
  for (const ParsedLine& r : records) created += r.action == audit::kLogCreatedAction;
  EXPECT_EQ(created, 1u);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditLogTest, AnIncompleteFinalLineIsQuarantinedKeptAndRecorded) {
  {
    auto log = Open(Options());
    ASSERT_OK(log);
    ASSERT_OK((*log)->Close());
  }
  const std::string torn = R"({"seq":3,"time":"2026-11-24T00:00:00.000000Z","type":"ev)";
  std::ofstream(CurrentFile(), std::ios::app) << torn;
  auto log = Open(Options());
  ASSERT_OK(log);
  ASSERT_OK((*log)->Close());
  std::string kept;
  for (const auto& entry : std::filesystem::directory_iterator(LogDir())) {
    if (entry.path().filename().string().starts_with("quarantine-"))
      kept = ReadFileBytes(entry.path());
  }
  EXPECT_EQ(kept, torn);
  std::vector<ParsedLine> records = Records();
  ASSERT_GE(records.size(), 3u);
  EXPECT_EQ(records[2].action, "audit.recovery.quarantine");
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditLogTest, AnyOtherInvalidLineRefusesStartNamingFileAndLine) {
  {
    auto log = Open(Options());
    ASSERT_OK(log);
    ASSERT_OK((*log)->Record(UserEvent("secret.securevalues:read")));
    ASSERT_OK((*log)->Close());
  }
  std::string text = ReadFileBytes(CurrentFile());
  std::size_t at = text.find("securevalues:read");
  ASSERT_NE(at, std::string::npos);
  text[at] = 'S';
  std::string line =
      "current.jsonl line " + std::to_string(std::count(text.begin(), text.begin() + at, '\n') + 1);
  ASSERT_TRUE(WriteFileBytes(CurrentFile(), text));
  auto log = Open(Options());
  ASSERT_STATUS(log, StatusCode::kIntegrityError);
  EXPECT_NE(log.error().message().find(line), std::string::npos) << log.error();
  EXPECT_EQ(ReadFileBytes(CurrentFile()), text) << "a refused start must leave the log alone";
}

TEST_F(AuditLogTest, AStoreOlderThanTheLastCheckpointIsRefusedAsARollback) {
  {
    auto log = Open(Options(), FixedState(10, std::string(64, 'b')));
    ASSERT_OK(log);
    ASSERT_OK((*log)->Close());
  }
  auto older = Open(Options(), FixedState(9, std::string(64, 'b')));
  ASSERT_STATUS(older, StatusCode::kFailedPrecondition);
  EXPECT_NE(older.error().message().find("rolled back"), std::string::npos) << older.error();
  auto replaced = Open(Options(), FixedState(10, std::string(64, 'c')));
  ASSERT_STATUS(replaced, StatusCode::kFailedPrecondition);
  // The same store, and a newer one, open.
  {
    auto same = Open(Options(), FixedState(10, std::string(64, 'b')));
    ASSERT_OK(same);
  }
  audit::AuditLogOptions restoring = Options();
  restoring.check_rollback = false;  // what `strongroom restore` does
  auto restore = Open(restoring, FixedState(3));
  EXPECT_OK(restore);
}

TEST_F(AuditLogTest, ACheckpointSignedByAnotherKeyRefusesStart) {
  {
    auto log = Open(Options());
    ASSERT_OK(log);
    ASSERT_OK((*log)->Close());
  }
  // A token whose audit key is another one: the log's last checkpoint
  // does not verify under it.
  std::string other_pem = OtherPublicKeyPem();
  auto other_sha256 = audit::PublicKeyFingerprint(other_pem);
  ASSERT_OK(other_sha256);
  auto other = audit::NewCheckpointSigner(other_pem, *other_sha256,
                                          [](ByteSpan) -> StatusOr<std::array<std::uint8_t, 64>> {
                                            return std::unexpected(Status::Internal("unused"));
                                          });
  auto log =
      audit::AuditLog::Open(Options(), std::move(other), FixedState(0), nullptr, *Clock::Real());
  ASSERT_STATUS(log, StatusCode::kIntegrityError);
}

TEST_F(AuditLogTest, RecordsOfWritesTheStoreLacksAtStartGetNotCommittedRecords) {
  {
    auto log = Open(Options(), FixedState(5));
    ASSERT_OK(log);
    audit::Event write = UserEvent("secret.securevalues:create");
    write.resource_version = 6;  // durable, but the process died before the commit
    ASSERT_OK((*log)->Record(write));
    write.resource_version = 5;  // committed
    ASSERT_OK((*log)->Record(write));
  }
  std::vector<ParsedLine> before = Records();
  std::uint64_t lost_seq = 0;
  for (const ParsedLine& r : before) {
    if (r.resource_version == 6u) lost_seq = r.seq;
  }
  ASSERT_NE(lost_seq, 0u);
  auto log = Open(Options(), FixedState(5));
  ASSERT_OK(log);
  ASSERT_OK((*log)->Close());
  std::size_t cancels = 0;
  for (const ParsedLine& r : Records()) {
    if (r.type != RecordType::kNotCommitted) continue;
    ++cancels;
    EXPECT_EQ(r.refers_to, lost_seq);
    EXPECT_EQ(r.outcome, "failed");
  }
  EXPECT_EQ(cancels, 1u);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

}  // namespace
}  // namespace strongroom

// The audit log under load and under faults: store writes audited before
// they commit (SPEC section 8's order), a commit that fails after its
// record, a sink that blocks, a disk that is full, group commit, coalesced
// authentication failures and the online check for a cut log.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "storage/replication.h"
#include "storage/storage.h"
#include "tests/audit/async_outcome.h"
#include "tests/audit/audit_fixture.h"
#include "tests/audit/blocking_sink.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using audit::ParsedLine;
using audit::RecordType;
using std::chrono::steady_clock;
using testing_support::AsyncOutcome;
using testing_support::AuditFixture;
using testing_support::BlockingSink;

class AuditWriteTest : public AuditFixture {
 protected:
  void OpenStore() {
    store_ = storage::testing::OpenTestStore(storage::testing::TestOptions(store_dir_));
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    AuditFixture::TearDown();
  }

  StatusOr<storage::WriteReceipt> Put(const std::string& tag, const std::string& key,
                                      const std::string& value) {
    return store_->Write(tag, [&](storage::WriteTxn& txn) -> Status {
      SR_RETURN_IF_ERROR(txn.Put(storage::Table::kSecureValues, key, AsBytes(value)));
      return Status::Ok();
    });
  }

  bool Exists(const std::string& key) {
    auto read = store_->BeginRead();
    return read.has_value() && read->Get(storage::Table::kSecureValues, key).has_value();
  }

  // WaitFor polls `done` every 50 ms for at most 5 s.
  static bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 100; ++i) {
      if (done()) return true;
      usleep(50'000);
    }
    return done();
  }

  const ParsedLine* Find(const std::vector<ParsedLine>& records, const std::string& request_id,
                         RecordType type = RecordType::kEvent) {
    for (const ParsedLine& r : records) {
      if (r.request_id == request_id && r.type == type) return &r;
    }
    return nullptr;
  }

  testing_support::TempDir store_dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(AuditWriteTest, AStoreWriteIsRecordedWithTheResourceVersionItCommits) {
  OpenStore();
  auto log = Open(Options(), audit::StoreStateOf(*store_));
  ASSERT_OK(log);
  (*log)->AttachTo(*store_);
  audit::Event event = UserEvent("secret.securevalues:create");
  event.request_id = "req-create";
  auto pending = (*log)->ExpectWrite("req-create#1", event);
  auto receipt = Put("req-create#1", "default/db-password", "v");
  ASSERT_OK(receipt);
  EXPECT_TRUE((*log)->Forget(pending)) << "the hook should have used the expectation";
  auto unannounced = Put("keyring:reserve", "default/other", "v");
  ASSERT_OK(unannounced);

  std::vector<ParsedLine> records = Records();
  const ParsedLine* create = Find(records, "req-create");
  ASSERT_NE(create, nullptr);
  EXPECT_EQ(create->action, "secret.securevalues:create");
  EXPECT_EQ(create->resource_version, receipt->resource_version);
  const ParsedLine* system = nullptr;
  for (const ParsedLine& r : records) {
    if (r.action == "keyring:reserve") system = &r;
  }
  ASSERT_NE(system, nullptr);
  EXPECT_EQ(system->actor_kind, "system");
  EXPECT_EQ(system->resource_version, unannounced->resource_version);
  for (const ParsedLine& r : records) EXPECT_NE(r.type, RecordType::kNotCommitted);
}

TEST_F(AuditWriteTest, ACommitThatFailsAfterItsRecordLeavesANotCommittedRecord) {
  OpenStore();
  audit::AuditLogOptions options = Options();
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options, audit::StoreStateOf(*store_));
  ASSERT_OK(log);
  (*log)->AttachTo(*store_);
  ASSERT_OK(Put("warm-up", "default/small", "v"));
  // A real fault: the kernel refuses to grow any file past RLIMIT_FSIZE
  // (EFBIG), so LMDB's commit of a large value fails after the audit
  // record, far smaller than the store file, was written.
  struct stat st {};
  ASSERT_EQ(::stat((store_dir_.Join("data") + "/store/data.mdb").c_str(), &st), 0);
  ASSERT_GT(st.st_size, 16384) << "the audit file must stay below the limit";
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(st.st_size);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  auto pending = (*log)->ExpectWrite("req-big#1", UserEvent("secret.securevalues:create"));
  auto failed = Put("req-big#1", "default/big", std::string(256 * 1024, 'x'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_FALSE(failed.has_value()) << "the commit was expected to fail";
  EXPECT_TRUE((*log)->Forget(pending)) << "the record should have been written before the commit";
  EXPECT_FALSE(Exists("default/big"));

  ASSERT_OK((*log)->Close());
  std::vector<ParsedLine> records = Records();
  const ParsedLine* write = Find(records, "req-secret.securevalues:create");
  ASSERT_NE(write, nullptr);
  const ParsedLine* cancel =
      Find(records, "req-secret.securevalues:create", RecordType::kNotCommitted);
  ASSERT_NE(cancel, nullptr) << "no not-committed record for the failed commit";
  EXPECT_EQ(cancel->refers_to, write->seq);
  EXPECT_GT(cancel->seq, write->seq);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

// UnknownOutcomeReplicator stands for a cluster whose answer to a sent
// transaction was lost and could not be resolved (replica/ resolves it
// against real etcd; the lost answer itself cannot be produced on demand).
class UnknownOutcomeReplicator final : public storage::BatchReplicator {
 public:
  StatusOr<storage::ReplicatedCommit> Commit(const storage::ReplicatedBatch&) override {
    return std::unexpected(Status::OutcomeUnknown("the cluster's answer was lost"));
  }
};

TEST_F(AuditWriteTest, AReplicatedCommitOfUnknownOutcomeIsRecordedAsUnknownNotAsNotCommitted) {
  OpenStore();
  auto log = Open(Options(), audit::StoreStateOf(*store_));
  ASSERT_TRUE(log.has_value()) << log.error();
  (*log)->AttachTo(*store_);
  store_->SetReplicator(std::make_shared<UnknownOutcomeReplicator>());
  auto pending = (*log)->ExpectWrite("req-unknown#1", UserEvent("secret.securevalues:create"));
  auto written = Put("req-unknown#1", "default/unknown", "v");
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), StatusCode::kOutcomeUnknown) << written.error();
  EXPECT_TRUE((*log)->Forget(pending));
  store_->SetReplicator(nullptr);

  ASSERT_TRUE((*log)->Close().ok());
  std::vector<ParsedLine> records = Records();
  const ParsedLine* write = Find(records, "req-secret.securevalues:create");
  ASSERT_NE(write, nullptr);
  const ParsedLine* unknown =
      Find(records, "req-secret.securevalues:create", RecordType::kOutcomeUnknown);
  ASSERT_NE(unknown, nullptr) << "no outcome-unknown record";
  EXPECT_EQ(unknown->refers_to, write->seq);
  EXPECT_EQ(Find(records, "req-secret.securevalues:create", RecordType::kNotCommitted), nullptr);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditWriteTest, ABlockedSinkFailsWithinTwoSecondsAndWritingResumesByItself) {
  OpenStore();
  auto sink = std::make_unique<BlockingSink>(audit::NewFileSink());
  BlockingSink* blocking = sink.get();
  auto log = Open(Options(), audit::StoreStateOf(*store_), std::move(sink));
  ASSERT_OK(log);
  (*log)->AttachTo(*store_);
  blocking->Block(true);

  auto started = steady_clock::now();
  Status refused = (*log)->Record(UserEvent("secret.securevalues:read"));
  EXPECT_STATUS(refused, StatusCode::kUnavailable);
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_FALSE((*log)->healthy());
  EXPECT_FALSE((*log)->problem().empty());

  audit::Event create = UserEvent("secret.securevalues:create");
  create.request_id = "req-blocked";
  auto pending = (*log)->ExpectWrite("req-blocked#1", create);
  started = steady_clock::now();
  auto write = Put("req-blocked#1", "default/blocked", "v");
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_FALSE(write.has_value());
  EXPECT_FALSE(Exists("default/blocked")) << "a change whose record is not durable was committed";

  blocking->Block(false);
  EXPECT_TRUE(WaitFor([&] { return (*log)->healthy(); }));
  EXPECT_OK((*log)->Record(UserEvent("secret.securevalues:list")));
  ASSERT_OK(Put("after", "default/after", "v"));
  ASSERT_OK((*log)->Close());

  // The blocked write's record reached the file late; a not-committed
  // record follows it.
  std::vector<ParsedLine> records = Records();
  const ParsedLine* late = Find(records, "req-blocked");
  ASSERT_NE(late, nullptr);
  const ParsedLine* cancel = Find(records, "req-blocked", RecordType::kNotCommitted);
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->refers_to, late->seq);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditWriteTest, AsyncRecordsAnswerOnceDurableAndWithin2sWhenTheSinkBlocks) {
  auto sink = std::make_unique<BlockingSink>(audit::NewFileSink());
  BlockingSink* blocking = sink.get();
  auto log = Open(Options(), FixedState(0), std::move(sink));
  ASSERT_OK(log);

  // Many callers at once: each told OK exactly once, every record written.
  constexpr int kCallers = 64;
  std::vector<std::unique_ptr<AsyncOutcome>> outcomes;
  for (int i = 0; i < kCallers; ++i) {
    outcomes.push_back(std::make_unique<AsyncOutcome>());
    audit::Event first = UserEvent("secret.securevalues:decrypt");
    first.request_id = "req-async-" + std::to_string(i) + "-a";
    audit::Event second = first;
    second.request_id = "req-async-" + std::to_string(i) + "-b";
    (*log)->RecordAllAsync({first, second}, outcomes.back()->Callback());
  }
  for (auto& outcome : outcomes) {
    std::vector<Status> calls = outcome->Wait();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_OK(calls[0]);
  }

  // A blocked sink: the caller is told kUnavailable within 2 s, and the
  // record, written once the sink lets go, does not claim success.
  blocking->Block(true);
  AsyncOutcome blocked;
  audit::Event stuck = UserEvent("secret.securevalues:decrypt");
  stuck.request_id = "req-async-stuck";
  auto started = steady_clock::now();
  (*log)->RecordAllAsync({stuck}, blocked.Callback());
  std::vector<Status> calls = blocked.Wait();
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_STATUS(calls[0], StatusCode::kUnavailable);
  blocking->Block(false);
  EXPECT_TRUE(WaitFor([&] { return (*log)->healthy(); }));
  ASSERT_OK((*log)->Close());
  EXPECT_EQ(blocked.calls.size(), 1u) << "answered exactly once";

  // After Close: told at once.
  AsyncOutcome closed;
  (*log)->RecordAllAsync({UserEvent("secret.securevalues:decrypt")}, closed.Callback());
  calls = closed.Wait(std::chrono::milliseconds(0));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_STATUS(calls[0], StatusCode::kUnavailable);

  std::vector<ParsedLine> records = Records();
  for (int i = 0; i < kCallers; ++i) {
    EXPECT_NE(Find(records, "req-async-" + std::to_string(i) + "-a"), nullptr) << i;
    EXPECT_NE(Find(records, "req-async-" + std::to_string(i) + "-b"), nullptr) << i;
  }
  // The stuck record was in the blocked write: it reached the file when the
  // sink let go, and a not-committed record says the caller got no answer.
  const ParsedLine* late = Find(records, "req-async-stuck");
  ASSERT_NE(late, nullptr);
  const ParsedLine* cancel = Find(records, "req-async-stuck", RecordType::kNotCommitted);
  ASSERT_NE(cancel, nullptr) << "a 503 left recorded as allowed";
  EXPECT_EQ(cancel->refers_to, late->seq);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditWriteTest, AFullDiskFailsRecordsUntilSpaceReturnsThenTheLogResumes) {
  const std::string trigger = dir_.Join("disk-full");
  auto log = Open(Options(), FixedState(0), audit::NewTriggeredFullDiskSink(trigger));
  ASSERT_OK(log);
  ASSERT_OK((*log)->Record(UserEvent("before:ok")));
  ASSERT_TRUE(testing_support::WriteFileBytes(trigger, ""));
  Status refused = (*log)->Record(UserEvent("during:refused"));
  EXPECT_STATUS(refused, StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("space"), std::string::npos) << refused;
  EXPECT_FALSE((*log)->healthy());
  ASSERT_EQ(::unlink(trigger.c_str()), 0);
  EXPECT_OK((*log)->Record(UserEvent("after:ok")));
  EXPECT_TRUE(WaitFor([&] { return (*log)->healthy(); }));
  ASSERT_OK((*log)->Close());

  std::vector<std::string> actions;
  for (const ParsedLine& r : Records()) actions.push_back(r.action);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "during:refused"), 0)
      << "a record whose caller was refused must not appear";
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "audit.resumed"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "after:ok"), 1);
  EXPECT_TRUE(VerifyLog({.require_sealed = true}).ok) << VerifyLog().Summary();
}

void RecordConcurrently(audit::AuditLog& log, int threads, int each) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&log, each] {
      for (int i = 0; i < each; ++i) {
        audit::Event event;
        event.action = "load:record";
        event.actor = audit::Actor{"user", "load", "", "", ""};
        EXPECT_OK(log.Record(event));
      }
    });
  }
  for (auto& w : workers) w.join();
}

TEST_F(AuditWriteTest, GroupCommitCoversConcurrentRecordsWithFewerFsyncsThanRecords) {
  auto log = Open(Options());
  ASSERT_OK(log);
  RecordConcurrently(**log, 8, 50);
  audit::AuditStats stats = (*log)->stats();
  EXPECT_GE(stats.records, 400u);
  EXPECT_LT(stats.fsyncs, stats.records);
  ASSERT_OK((*log)->Close());
  EXPECT_TRUE(VerifyLog().ok);
}

TEST_F(AuditWriteTest, WithoutGroupCommitEveryRecordHasItsOwnFsync) {
  audit::AuditLogOptions options = Options();
  options.group_commit = false;
  auto log = Open(options);
  ASSERT_OK(log);
  RecordConcurrently(**log, 4, 25);
  audit::AuditStats stats = (*log)->stats();
  EXPECT_GE(stats.records, 100u);
  EXPECT_GE(stats.fsyncs, stats.records);
  ASSERT_OK((*log)->Close());
  EXPECT_TRUE(VerifyLog().ok);
}

TEST_F(AuditWriteTest, AuthenticationFailuresAreCoalescedPerAddressAndReasonWithACount) {
  auto log = Open(Options());
  ASSERT_OK(log);
  for (int i = 0; i < 50; ++i) (*log)->AuthenticationFailed("192.0.2.7", "invalid_password");
  for (int i = 0; i < 3; ++i) (*log)->AuthenticationFailed("192.0.2.7", "missing_credentials");
  std::map<std::string, std::uint64_t> counts;
  auto collect = [&] {
    counts.clear();
    for (const std::string& line : Lines()) {
      auto record = nlohmann::json::parse(line);
      if (record.value("action", "") != "authenticate") continue;
      std::string key = record["actor"].value("address", "") + " " +
                        record["outcome"].value("reason", "") + " " +
                        record["actor"].value("kind", "");
      counts[key] += record.value("count", std::uint64_t{0});
      EXPECT_EQ(record["outcome"].value("result", ""), "denied");
    }
    return counts.size() == 2;
  };
  ASSERT_TRUE(WaitFor(collect)) << "coalesced records did not appear within 5 s";
  EXPECT_EQ(counts["192.0.2.7 invalid_password anonymous"], 50u);
  EXPECT_EQ(counts["192.0.2.7 missing_credentials anonymous"], 3u);
}

TEST_F(AuditWriteTest, VerifyNowFindsALogCutAtARecordBoundaryWhileOpen) {
  audit::AuditLogOptions options = Options();
  options.checkpoint_interval = std::chrono::hours(1);
  auto log = Open(options);
  ASSERT_OK(log);
  for (int i = 0; i < 5; ++i) ASSERT_OK((*log)->Record(UserEvent("x:y")));
  auto before = (*log)->VerifyNow();
  ASSERT_OK(before);
  EXPECT_TRUE(before->ok) << before->Summary();
  // Drop the last record: what is left is a valid, shorter chain.
  std::string text = testing_support::ReadFileBytes(CurrentFile());
  std::size_t cut = text.rfind('\n', text.size() - 2) + 1;
  ASSERT_EQ(::truncate(CurrentFile().c_str(), static_cast<off_t>(cut)), 0);
  EXPECT_TRUE(VerifyLog().ok) << "offline, without a known head, a clean cut looks valid";
  auto after = (*log)->VerifyNow();
  ASSERT_OK(after);
  EXPECT_FALSE(after->ok);
  EXPECT_NE(after->Summary().find("FAIL"), std::string::npos);
}

}  // namespace
}  // namespace strongroom

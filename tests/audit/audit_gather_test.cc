// Group gathering (AuditLogOptions::group_gather, issue 19): once a group
// held several records, the next waits, at most group_gather, until as many
// are queued as the last group held plus those queued while it was written.
// Asserted by counts and order, never by timing: with a gather of ten
// minutes only the awaited count, Close, or the bound can end a wait.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/audit/async_outcome.h"
#include "tests/audit/audit_fixture.h"
#include "tests/audit/blocking_sink.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using audit::ParsedLine;
using testing_support::AsyncOutcome;
using testing_support::AuditFixture;
using testing_support::BlockingSink;

class AuditGatherTest : public AuditFixture {
 protected:
  void TearDown() override {
    log_.reset();  // before the token it signs with
    AuditFixture::TearDown();
  }

  // OpenGathering opens a fresh log whose groups gather for `gather`, on a
  // sink the test can block.
  void OpenGathering(std::chrono::microseconds gather) {
    auto sink = std::make_unique<BlockingSink>(audit::NewFileSink());
    sink_ = sink.get();
    audit::AuditLogOptions options = Options();
    options.group_gather = gather;
    // No checkpoint of its own between the groups the tests count (one is
    // written at Close).
    options.checkpoint_interval = std::chrono::hours(1);
    auto log = Open(options, FixedState(0), std::move(sink));
    ASSERT_OK(log);
    log_ = std::move(*log);
  }

  static audit::Event Decrypt(const std::string& request_id) {
    audit::Event event = UserEvent("secret.securevalues:decrypt");
    event.request_id = request_id;
    return event;
  }

  // WriteAGroupOfFive: "a" is written alone while b1..b4 queue behind its
  // blocked write; the next group then waits for 1 + 4 records: b1..b4 wait
  // until "c" comes, and the five go in one group (one fdatasync).
  void WriteAGroupOfFive() {
    sink_->Block(true);
    AsyncOutcome a;
    log_->RecordAllAsync({Decrypt("a")}, a.Callback());
    ASSERT_TRUE(sink_->AwaitBlockedWrite()) << "the sequencer never wrote 'a'";
    std::vector<std::unique_ptr<AsyncOutcome>> b;
    for (int i = 1; i <= 4; ++i) {
      b.push_back(std::make_unique<AsyncOutcome>());
      log_->RecordAllAsync({Decrypt("b" + std::to_string(i))}, b.back()->Callback());
    }
    const audit::AuditStats before = log_->stats();
    sink_->Block(false);
    std::vector<Status> told_a = a.Wait(std::chrono::seconds(10));
    ASSERT_EQ(told_a.size(), 1u);
    EXPECT_OK(told_a[0]);
    // The sequencer now waits for a fifth record (ten minutes at most).
    for (auto& told : b) EXPECT_EQ(told->Count(), 0u) << "written before the group filled";
    ASSERT_OK(log_->Record(Decrypt("c")));
    for (auto& told : b) {
      std::vector<Status> calls = told->Wait(std::chrono::seconds(10));
      ASSERT_EQ(calls.size(), 1u);
      EXPECT_OK(calls[0]);
    }
    const audit::AuditStats after = log_->stats();
    EXPECT_EQ(after.last_group_size, 5u) << "b1..b4 and c in one group";
    EXPECT_EQ(after.fsyncs, before.fsyncs + 2) << "one for 'a', one for the five";
  }

  // SeqOf is the seq of the event whose request id is `request_id` (0: none).
  std::uint64_t SeqOf(const std::string& request_id) const {
    for (const ParsedLine& r : Records()) {
      if (r.request_id == request_id && r.type == audit::RecordType::kEvent) return r.seq;
    }
    return 0;
  }

  BlockingSink* sink_ = nullptr;
  std::unique_ptr<audit::AuditLog> log_;
};

constexpr std::chrono::microseconds kTenMinutes = std::chrono::minutes(10);

TEST_F(AuditGatherTest, AfterGroupsOfOneNothingIsHeld) {
  OpenGathering(kTenMinutes);
  // The log's first record was a group of one: each record is written at
  // once, alone (a hold would last ten minutes).
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(log_->Record(Decrypt("lone-" + std::to_string(i))));
    EXPECT_EQ(log_->stats().last_group_size, 1u);
  }
  ASSERT_OK(log_->Close());
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditGatherTest, AGroupWaitsForAsManyAsTheLastHeldPlusThoseQueuedMeanwhile) {
  OpenGathering(kTenMinutes);
  WriteAGroupOfFive();
  if (HasFatalFailure()) return;
  ASSERT_OK(log_->Close());
  // In arrival order, consecutive.
  const std::uint64_t first = SeqOf("b1");
  ASSERT_NE(first, 0u);
  EXPECT_EQ(SeqOf("a"), first - 1);
  EXPECT_EQ(SeqOf("b2"), first + 1);
  EXPECT_EQ(SeqOf("b3"), first + 2);
  EXPECT_EQ(SeqOf("b4"), first + 3);
  EXPECT_EQ(SeqOf("c"), first + 4);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditGatherTest, ALoneRecordIsWrittenAloneOnceTheBoundPasses) {
  // A short bound: after the group of five the next group waits for five,
  // and a lone record is released by the bound alone.
  OpenGathering(std::chrono::milliseconds(20));
  sink_->Block(true);
  AsyncOutcome a;
  log_->RecordAllAsync({Decrypt("a")}, a.Callback());
  ASSERT_TRUE(sink_->AwaitBlockedWrite());
  std::vector<std::unique_ptr<AsyncOutcome>> b;
  for (int i = 1; i <= 4; ++i) {
    b.push_back(std::make_unique<AsyncOutcome>());
    log_->RecordAllAsync({Decrypt("b" + std::to_string(i))}, b.back()->Callback());
  }
  sink_->Block(false);
  for (auto& told : b) ASSERT_EQ(told->Wait(std::chrono::seconds(10)).size(), 1u);  // released by the bound
  EXPECT_EQ(log_->stats().last_group_size, 4u);
  // The last group held four: the next waits for four, and a lone record
  // is written alone once the bound has passed.
  ASSERT_OK(log_->Record(Decrypt("lone")));
  EXPECT_EQ(log_->stats().last_group_size, 1u);
  ASSERT_OK(log_->Close());
  EXPECT_NE(SeqOf("lone"), 0u);
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditGatherTest, CloseEndsAGatherAndWritesWhatWaited) {
  OpenGathering(kTenMinutes);
  WriteAGroupOfFive();
  if (HasFatalFailure()) return;
  // The next group waits for five; one record comes, then Close.
  AsyncOutcome waiting;
  log_->RecordAllAsync({Decrypt("before-close")}, waiting.Callback());
  ASSERT_OK(log_->Close());
  std::vector<Status> calls = waiting.Wait(std::chrono::seconds(10));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_OK(calls[0]);
  EXPECT_GT(SeqOf("before-close"), SeqOf("c"));
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

TEST_F(AuditGatherTest, WithoutGroupCommitNothingIsGathered) {
  auto sink = std::make_unique<BlockingSink>(audit::NewFileSink());
  BlockingSink* blocking = sink.get();
  audit::AuditLogOptions options = Options();
  options.group_commit = false;
  options.group_gather = kTenMinutes;
  auto log = Open(options, FixedState(0), std::move(sink));
  ASSERT_OK(log);
  blocking->Block(true);
  AsyncOutcome a;
  (*log)->RecordAllAsync({Decrypt("a")}, a.Callback());
  ASSERT_TRUE(blocking->AwaitBlockedWrite());
  std::vector<std::unique_ptr<AsyncOutcome>> b;
  for (int i = 1; i <= 4; ++i) {
    b.push_back(std::make_unique<AsyncOutcome>());
    (*log)->RecordAllAsync({Decrypt("b" + std::to_string(i))}, b.back()->Callback());
  }
  blocking->Block(false);
  // Written one fdatasync each, without waiting for a fifth record.
  for (auto& told : b) ASSERT_EQ(told->Wait(std::chrono::seconds(10)).size(), 1u);
  ASSERT_OK((*log)->Close());
  EXPECT_TRUE(VerifyLog().ok) << VerifyLog().Summary();
}

}  // namespace
}  // namespace strongroom

// The writer thread: per-write nested transactions, the pre-commit hook, and
// what a failure in one write or in the whole batch does to the others.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "storage/write_queue.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::OpenTestStore;
using testing::PutValue;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

// BatchGate is a pre-commit hook that records every batch as its
// "tag@resource_version" list, holds the batch holding the write tagged
// "blocker" until Open(), and fails the other batches while failing.
class BatchGate {
 public:
  Store::PreCommitHook Hook() {
    return [this](std::span<const StagedWrite> staged) -> Status {
      std::unique_lock lock(mutex_);
      std::vector<std::string> batch;
      bool blocker = false;
      for (const StagedWrite& write : staged) {
        batch.push_back(write.tag + "@" + std::to_string(write.resource_version));
        blocker = blocker || write.tag == "blocker";
      }
      batches_.push_back(batch);
      if (blocker) {
        blocked_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
        return Status::Ok();
      }
      return failing_ ? Status::Internal("audit log unavailable") : Status::Ok();
    };
  }
  void WaitUntilBlocked() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return blocked_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void set_failing(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool blocked_ = false, open_ = false, failing_ = false;
  std::vector<std::vector<std::string>> batches_;
};

// AsyncWrite runs one Write() on its own thread.
class AsyncWrite {
 public:
  AsyncWrite(Store& store, std::string tag, std::function<Status(WriteTxn&)> fn)
      : thread_([this, &store, tag, fn] { result_ = store.Write(tag, fn); }) {
    // Give the thread time to queue its write, so writes queue in the order
    // the test starts them.
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
  }
  StatusOr<WriteReceipt> Wait() {
    thread_.join();
    return result_;
  }

 private:
  StatusOr<WriteReceipt> result_ = std::unexpected(Status::Internal("not finished"));
  std::thread thread_;
};

std::function<Status(WriteTxn&)> PutFn(std::string key) {
  return [key](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, key, AsBytes("value-" + key)));
    return Status::Ok();
  };
}

TEST(WriterBatch, FailingWriteDiscardsOnlyItsOwnChanges) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  BatchGate gate;
  store->SetPreCommitHook(gate.Hook());
  AsyncWrite blocker(*store, "blocker", PutFn("blocker"));
  gate.WaitUntilBlocked();
  AsyncWrite a(*store, "a", [](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, "a", AsBytes("value-a")));
    txn.BumpGeneration(CacheKind::kCredentials);
    return Status::Ok();
  });
  AsyncWrite b(*store, "b", [](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, "b", AsBytes("value-b")));
    SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, "a", AsBytes("overwritten-by-b")));
    SR_RETURN_IF_ERROR(txn.PutMeta("b-was-here", AsBytes("1")));
    txn.BumpGeneration(CacheKind::kPolicy);
    return Status::Aborted("b changed its mind");
  });
  AsyncWrite c(*store, "c", PutFn("c"));
  gate.Open();

  EXPECT_EQ(blocker.Wait()->resource_version, 1u);
  StatusOr<WriteReceipt> ra = a.Wait(), rb = b.Wait(), rc = c.Wait();
  ASSERT_OK(ra);
  ASSERT_STATUS(rb, StatusCode::kAborted);
  EXPECT_EQ(rb.error().message(), "b changed its mind");
  ASSERT_OK(rc);
  EXPECT_EQ(ra->resource_version, 2u);
  EXPECT_EQ(rc->resource_version, 3u);
  // a, b and c ran in one batch, committed once.
  using Batches = std::vector<std::vector<std::string>>;
  EXPECT_EQ(gate.batches(), (Batches{{"blocker@1"}, {"a@2", "c@3"}}));

  StatusOr<ReadTxn> read = store->BeginRead();
  EXPECT_EQ(read->resource_version(), 3u);
  EXPECT_EQ(ValueOf(*read->Get(Table::kUsers, "a")), "value-a");
  EXPECT_EQ(read->Get(Table::kUsers, "a")->generation, 1u);
  EXPECT_EQ(read->Get(Table::kUsers, "b").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(ValueOf(*read->Get(Table::kUsers, "c")), "value-c");
  EXPECT_EQ(read->GetMeta("b-was-here").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(read->generation(CacheKind::kCredentials), 1u);
  EXPECT_EQ(read->generation(CacheKind::kPolicy), 0u);
  // b's aborted Puts left the store digest untouched.
  EXPECT_OK(store->VerifyIntegrity());
}

TEST(WriterBatch, FailingPreCommitHookChangesNothingAndFailsTheWholeBatch) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  BatchGate gate;
  store->SetPreCommitHook(gate.Hook());
  AsyncWrite blocker(*store, "blocker", PutFn("blocker"));
  gate.WaitUntilBlocked();
  gate.set_failing(true);
  AsyncWrite a(*store, "a", PutFn("a"));
  AsyncWrite b(*store, "b", [](WriteTxn&) { return Status::InvalidArgument("bad b"); });
  AsyncWrite c(*store, "c", [](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, "c", AsBytes("c")));
    txn.BumpGeneration(CacheKind::kTokens);
    return Status::Ok();
  });
  gate.Open();
  ASSERT_OK(blocker.Wait());
  StatusOr<WriteReceipt> ra = a.Wait(), rb = b.Wait(), rc = c.Wait();
  ASSERT_STATUS(ra, StatusCode::kUnavailable);
  EXPECT_NE(ra.error().message().find("audit log unavailable"), std::string::npos) << ra.error();
  ASSERT_STATUS(rb, StatusCode::kInvalidArgument);
  ASSERT_STATUS(rc, StatusCode::kUnavailable);
  using Batches = std::vector<std::vector<std::string>>;
  EXPECT_EQ(gate.batches(), (Batches{{"blocker@1"}, {"a@2", "c@3"}}));
  {
    StatusOr<ReadTxn> read = store->BeginRead();
    EXPECT_EQ(read->resource_version(), 1u);
    EXPECT_EQ(read->Get(Table::kUsers, "a").error().code(), StatusCode::kNotFound);
    EXPECT_EQ(read->Get(Table::kUsers, "c").error().code(), StatusCode::kNotFound);
    EXPECT_EQ(read->generation(CacheKind::kTokens), 0u);
  }
  // The store is unharmed: later writes commit, above the versions the
  // failed batch had staged (an audit record may already name those).
  gate.set_failing(false);
  StatusOr<WriteReceipt> later = PutValue(*store, Table::kUsers, "a", "again");
  ASSERT_OK(later);
  EXPECT_EQ(later->resource_version, 4u);
  EXPECT_EQ(store->BeginRead()->Get(Table::kUsers, "a")->generation, 1u);
  EXPECT_OK(store->VerifyIntegrity());
}

TEST(WriterBatch, HookIsNotCalledWhenNothingIsStaged) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  int calls = 0;
  store->SetPreCommitHook([&](std::span<const StagedWrite>) {
    ++calls;
    return Status::Ok();
  });
  EXPECT_FALSE(store->Write("fails", [](WriteTxn&) { return Status::NotFound("x"); }).has_value());
  EXPECT_EQ(calls, 0);
  EXPECT_OK(PutValue(*store, Table::kUsers, "u", "v"));
  EXPECT_EQ(calls, 1);
}

TEST(WriterBatch, ThrowingOrReentrantWriteFailsOnlyItself) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  StatusOr<WriteReceipt> thrown = store->Write("throws", [](WriteTxn& txn) -> Status {
    (void)txn.Put(Table::kUsers, "thrower", AsBytes("x"));
    throw std::runtime_error("boom");
  });
  ASSERT_STATUS(thrown, StatusCode::kInternal);
  Status inner;
  StatusOr<WriteReceipt> reentrant = store->Write("outer", [&](WriteTxn&) {
    inner = Status(PutValue(*store, Table::kUsers, "inner", "x").error());
    return Status::Ok();
  });
  EXPECT_OK(reentrant);
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition);
  StatusOr<ReadTxn> read = store->BeginRead();
  EXPECT_EQ(read->Get(Table::kUsers, "thrower").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(read->resource_version(), 1u);
}

TEST(WriterBatch, DestructorRunsQueuedWritesBeforeClosing) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  BatchGate gate;
  store->SetPreCommitHook(gate.Hook());
  AsyncWrite blocker(*store, "blocker", PutFn("blocker"));
  gate.WaitUntilBlocked();
  AsyncWrite a(*store, "a", PutFn("a"));
  AsyncWrite b(*store, "b", PutFn("b"));
  std::thread closer([&] { store.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gate.Open();
  closer.join();
  EXPECT_OK(blocker.Wait());
  EXPECT_EQ(a.Wait()->resource_version, 2u);
  EXPECT_EQ(b.Wait()->resource_version, 3u);
  store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ValueOf(*store->BeginRead()->Get(Table::kUsers, "b")), "value-b");
}

TEST(WriteQueue, RefusesWritesOnceClosedButHandsOutThoseQueued) {
  WriteQueue queue;
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  EXPECT_EQ(queue.PopBatch(2).size(), 2u);
  queue.Close();
  EXPECT_EQ(queue.Push(std::make_unique<PendingWrite>()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(queue.PopBatch(2).size(), 1u);
  EXPECT_TRUE(queue.PopBatch(2).empty());
}

TEST(WriteQueue, GatherWaitsForTheWritesItExpects) {
  WriteQueue queue;
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  // Two more arrive while PopBatch holds the batch back; the linger is far
  // longer than the test, so only their arrival can end the wait.
  std::thread late([&queue] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  });
  const Gather gather{.want = 3, .linger = std::chrono::minutes(5)};
  EXPECT_EQ(queue.PopBatch(8, gather).size(), 3u);
  late.join();
  EXPECT_EQ(queue.size(), 0u);
}

TEST(WriteQueue, GatherHandsOutWhatCameOnceTheLingerEnds) {
  WriteQueue queue;
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  const auto start = std::chrono::steady_clock::now();
  const Gather gather{.want = 5, .linger = std::chrono::milliseconds(30)};
  EXPECT_EQ(queue.PopBatch(8, gather).size(), 2u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

TEST(WriteQueue, GatherNeverWaitsForMoreThanTheBatchHolds) {
  WriteQueue queue;
  for (int i = 0; i < 3; ++i) ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  // want 10 is capped at max 2: two are queued, so no wait (the linger is
  // longer than the test's timeout).
  const Gather gather{.want = 10, .linger = std::chrono::minutes(5)};
  EXPECT_EQ(queue.PopBatch(2, gather).size(), 2u);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(WriteQueue, CloseEndsAGatherAtOnce) {
  WriteQueue queue;
  ASSERT_OK(queue.Push(std::make_unique<PendingWrite>()));
  std::thread closer([&queue] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queue.Close();
  });
  const Gather gather{.want = 4, .linger = std::chrono::minutes(5)};
  EXPECT_EQ(queue.PopBatch(8, gather).size(), 1u);
  closer.join();
}

}  // namespace
}  // namespace strongroom::storage

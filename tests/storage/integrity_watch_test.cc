// Runtime store integrity under concurrency: readers racing the writer and
// the periodic check never see a false "unexplained change"; the periodic
// watch thread latches a swap made by another process. Run under
// ThreadSanitizer in the TSan build (label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::OpenTestStore;
using testing::OtherProcess;
using testing::PutValue;
using testing::TestOptions;
using testing_support::TempDir;

std::string KeyOf(int i) { return "k" + std::to_string(i); }

class IntegrityWatchConcurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = TestOptions(dir_);
    options_.tag_index = true;
    store_ = OpenTestStore(options_);
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  TempDir scratch_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

// Readers take snapshots while writers update, delete and re-create the same
// keys and the periodic check runs: every read must be OK or kNotFound.
TEST_F(IntegrityWatchConcurrency, ReadersRacingWritesAndChecksSeeNoFalseIntegrityError) {
  constexpr int kKeys = 16;
  constexpr int kWriters = 3;
  constexpr int kWritesPerWriter = 150;
  constexpr int kReaders = 3;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(PutValue(*store_, Table::kUsers, KeyOf(i), "v0"));
  }
  ASSERT_OK(store_->VerifyIntegrity());

  std::atomic<int> writers_left{kWriters};
  std::atomic<int> false_alarms{0};
  std::atomic<std::uint64_t> reads{0};
  std::mutex first_alarm_mutex;
  std::string first_alarm;
  auto alarm = [&](const Status& status) {
    if (status.code() != StatusCode::kIntegrityError) return;
    ++false_alarms;
    std::lock_guard lock(first_alarm_mutex);
    if (first_alarm.empty()) first_alarm = status.ToString();
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWritesPerWriter; ++i) {
        const std::string key = KeyOf((w * 7 + i) % kKeys);
        StatusOr<WriteReceipt> written = store_->Write("w", [&](WriteTxn& txn) -> Status {
          if (i % 5 == 4) {
            Status deleted = txn.Delete(Table::kUsers, key);
            if (deleted.code() == StatusCode::kNotFound) return Status::Ok();
            return deleted;
          }
          StatusOr<std::uint64_t> put =
              txn.Put(Table::kUsers, key, AsBytes("v" + std::to_string(i)));
          return put.has_value() ? Status::Ok() : put.error();
        });
        if (!written.has_value()) alarm(written.error());
      }
      --writers_left;
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      int round = 0;
      while (writers_left.load() > 0 || round < 10) {
        ++round;
        StatusOr<ReadTxn> read = store_->BeginRead();
        if (!read.has_value()) continue;
        for (int i = r; i < kKeys; i += 2) {
          StatusOr<Record> record = read->Get(Table::kUsers, KeyOf(i));
          if (!record.has_value()) alarm(record.error());
          ++reads;
        }
        alarm(read->Scan(Table::kUsers, "", "",
                         [](std::string_view, const Record&) { return true; }));
      }
    });
  }
  threads.emplace_back([&] {
    while (writers_left.load() > 0) alarm(store_->CheckIntegrityNow());
  });
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(false_alarms.load(), 0) << first_alarm;
  EXPECT_OK(store_->integrity_problem());
  EXPECT_GT(reads.load(), 0u);
  EXPECT_OK(store_->CheckIntegrityNow());
}

// Another Strongroom process writes (vouched) while readers and this
// process's writer run: no read is refused, and the index follows.
TEST_F(IntegrityWatchConcurrency, VouchedForeignWritesDuringOwnWritesAreAccepted) {
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK(PutValue(*store_, Table::kUsers, KeyOf(i), "v0"));
  }
  ASSERT_OK(store_->VerifyIntegrity());
  store_->SetForeignWriteCheck([]() -> StatusOr<std::uint64_t> { return UINT64_MAX; });
  OtherProcess other(options_.data_dir, scratch_.path());

  std::atomic<bool> done{false};
  std::atomic<int> refused{0};
  std::thread own_writer([&] {
    for (int i = 0; !done.load(); ++i) {
      if (!PutValue(*store_, Table::kUsers, KeyOf(i % 4), "own").has_value()) ++refused;
    }
  });
  std::thread reader([&] {
    while (!done.load()) {
      StatusOr<ReadTxn> read = store_->BeginRead();
      if (!read.has_value()) continue;
      for (int i = 0; i < 8; ++i) {
        StatusOr<Record> record = read->Get(Table::kUsers, KeyOf(i));
        if (!record.has_value() && record.error().code() == StatusCode::kIntegrityError) {
          ++refused;
        }
      }
    }
  });
  for (int i = 0; i < 4; ++i) {
    EXPECT_GT(other.PutThroughStore(Table::kUsers, KeyOf(4 + i), "foreign"), 0u);
  }
  done = true;
  own_writer.join();
  reader.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_OK(store_->integrity_problem());
  EXPECT_OK(store_->VerifyIntegrity());
}

TEST_F(IntegrityWatchConcurrency, TheWatchThreadLatchesASwapMadeByAnotherProcess) {
  ASSERT_OK(PutValue(*store_, Table::kTokens, "t", "v1"));
  ASSERT_OK(store_->VerifyIntegrity());
  OtherProcess other(options_.data_dir, scratch_.path());
  ASSERT_TRUE(other.SaveRaw(Table::kTokens, "t", "v1"));
  ASSERT_OK(PutValue(*store_, Table::kTokens, "t", "v2"));
  ASSERT_TRUE(other.RestoreRaw(Table::kTokens, "t", "v1"));

  std::promise<Status> first_failure;
  std::atomic<bool> reported{false};
  ASSERT_OK(store_->StartIntegrityWatch(std::chrono::milliseconds(1), [&](const Status& result) {
    if (result.ok() || reported.exchange(true)) return;
    first_failure.set_value(result);
  }));
  EXPECT_EQ(store_->StartIntegrityWatch(std::chrono::milliseconds(1)).code(),
            StatusCode::kFailedPrecondition);
  Status failure = first_failure.get_future().get();
  EXPECT_EQ(failure.code(), StatusCode::kIntegrityError) << failure;
  EXPECT_EQ(store_->integrity_problem().code(), StatusCode::kIntegrityError);
  StatusOr<ReadTxn> read = store_->BeginRead();
  ASSERT_OK(read);
  EXPECT_EQ(read->Get(Table::kTokens, "t").error().code(), StatusCode::kIntegrityError);
}

TEST_F(IntegrityWatchConcurrency, ANonPositiveIntervalIsRefused) {
  EXPECT_EQ(store_->StartIntegrityWatch(std::chrono::milliseconds(0)).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::storage

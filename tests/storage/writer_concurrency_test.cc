// Concurrency: many writers, readers and an online backup at once. Run under
// ThreadSanitizer in the TSan build (label "concurrency").
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
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
using testing::PutValue;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

// VersionKey names the record a write made as resource_version `v`.
std::string VersionKey(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "rv/%012llu", static_cast<unsigned long long>(v));
  return buf;
}

// CountRecords returns how many records `read` sees in `table`.
std::uint64_t CountRecords(const ReadTxn& read, Table table) {
  std::uint64_t count = 0;
  Status status = read.Scan(table, "", "", [&](std::string_view, const Record&) {
    ++count;
    return true;
  });
  EXPECT_OK(status);
  return count;
}

constexpr int kThreads = 8;
constexpr int kWritesPerThread = 200;

std::string WriterKey(int thread, int i) {
  return "w" + std::to_string(thread) + "/" + std::to_string(i);
}

// ExpectContiguousFromOne checks the receipts of all threads are exactly
// 1..N, each thread's in increasing order.
void ExpectContiguousFromOne(const std::vector<std::vector<std::uint64_t>>& receipts) {
  std::vector<std::uint64_t> all;
  for (const auto& r : receipts) {
    EXPECT_TRUE(std::is_sorted(r.begin(), r.end()));  // one caller's writes stay in order
    all.insert(all.end(), r.begin(), r.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), std::size_t{kThreads * kWritesPerThread});
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 1);
}

void ExpectEveryWriterRecord(Store& store) {
  StatusOr<ReadTxn> read = store.BeginRead();
  ASSERT_OK(read);
  EXPECT_EQ(read->resource_version(), std::uint64_t{kThreads * kWritesPerThread});
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWritesPerThread; ++i) {
      StatusOr<Record> record = read->Get(Table::kSecureValues, WriterKey(t, i));
      ASSERT_OK(record) << WriterKey(t, i);
      EXPECT_EQ(ValueOf(*record), "v:" + WriterKey(t, i));
    }
  }
}

TEST(WriterConcurrency, ManyWritersGetDistinctContiguousReceiptsInFewerCommits) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  std::atomic<int> commits{0}, staged_total{0};
  store->SetPreCommitHook([&](std::span<const StagedWrite> staged) {
    commits.fetch_add(1);
    staged_total.fetch_add(static_cast<int>(staged.size()));
    return Status::Ok();
  });

  // A reader checks that every snapshot is whole: each write adds exactly
  // one record, so a snapshot at version v holds v records.
  std::atomic<bool> done{false};
  std::atomic<int> snapshots{0};
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!done.load()) {
      StatusOr<ReadTxn> read = store->BeginRead();
      ASSERT_OK(read);
      ASSERT_GE(read->resource_version(), last);
      last = read->resource_version();
      ASSERT_EQ(CountRecords(*read, Table::kSecureValues), last);
      snapshots.fetch_add(1);
    }
  });

  std::vector<std::vector<std::uint64_t>> receipts(kThreads);
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        std::string key = WriterKey(t, i);
        StatusOr<WriteReceipt> receipt = PutValue(*store, Table::kSecureValues, key, "v:" + key);
        ASSERT_OK(receipt);
        receipts[t].push_back(receipt->resource_version);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done.store(true);
  reader.join();

  ExpectContiguousFromOne(receipts);
  ExpectEveryWriterRecord(*store);
  EXPECT_EQ(staged_total.load(), kThreads * kWritesPerThread);
  EXPECT_LT(commits.load(), kThreads * kWritesPerThread);
  EXPECT_GT(snapshots.load(), 0);
  std::printf("%d writes in %d commits, %d snapshots checked\n", kThreads * kWritesPerThread,
              commits.load(), snapshots.load());
}

// ExpectExactlyVersionsUpTo checks `read` holds the records of writes 1..v
// (v = its resource_version) and nothing else: a whole, untorn snapshot.
void ExpectExactlyVersionsUpTo(const ReadTxn& read) {
  std::uint64_t expected = 1;
  Status scan = read.Scan(Table::kTokens, "", "", [&](std::string_view key, const Record& record) {
    EXPECT_EQ(key, VersionKey(expected));
    EXPECT_EQ(ValueOf(record), "v:" + std::string(key));
    ++expected;
    return true;
  });
  ASSERT_OK(scan);
  EXPECT_EQ(expected - 1, read.resource_version());
}

TEST(WriterConcurrency, BackupWhileWritesContinueIsAConsistentSnapshot) {
  TempDir dir, restored_dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> acknowledged{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      while (!stop.load()) {
        StatusOr<WriteReceipt> receipt = store->Write("w", [](WriteTxn& txn) -> Status {
          std::string key = VersionKey(txn.resource_version());
          SR_RETURN_IF_ERROR(txn.Put(Table::kTokens, key, AsBytes("v:" + key)));
          return Status::Ok();
        });
        EXPECT_OK(receipt);
        if (!receipt.has_value()) stop.store(true);  // never leave the main thread waiting
        if (receipt.has_value()) acknowledged.store(receipt->resource_version);
      }
    });
  }
  auto wait_for = [&](std::uint64_t version) {
    while (!stop.load() && acknowledged.load() < version) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  wait_for(100);
  const std::string backup_dir = dir.Join("backup");
  ASSERT_EQ(::mkdir(backup_dir.c_str(), 0700), 0);
  Status backup = store->Backup(backup_dir);
  wait_for(acknowledged.load() + 50);
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  ASSERT_OK(backup);
  const std::uint64_t final_version = store->BeginRead()->resource_version();
  store.reset();

  StoreOptions restored = TestOptions(restored_dir);
  ASSERT_OK(Store::InstallBackup(backup_dir, restored.data_dir));
  auto copy = OpenTestStore(restored);
  ASSERT_NE(copy, nullptr);
  StatusOr<ReadTxn> read = copy->BeginRead();
  EXPECT_GE(read->resource_version(), 100u);
  EXPECT_LT(read->resource_version(), final_version);
  ExpectExactlyVersionsUpTo(*read);
}

TEST(WriterConcurrency, ReadTxnMayMoveBetweenThreads) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v1"));
  std::optional<ReadTxn> read;
  std::thread([&] { read.emplace(*store->BeginRead()); }).join();
  ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v2"));
  std::string seen;
  std::thread([&] { seen = ValueOf(*read->Get(Table::kUsers, "u")); }).join();
  EXPECT_EQ(seen, "v1");
  std::thread([&] { read.reset(); }).join();
  EXPECT_EQ(ValueOf(*store->BeginRead()->Get(Table::kUsers, "u")), "v2");
}

}  // namespace
}  // namespace strongroom::storage

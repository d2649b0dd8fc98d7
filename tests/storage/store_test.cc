// Store: records, generations, resourceVersion, snapshots, schema, locks.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <map>
#include <optional>
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
using testing::RawStoreFile;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

TEST(Store, ReopenedStoreHasEveryCommittedRecord) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/a", "alpha"));
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/a", "alpha-2"));
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "user-row"));
    ASSERT_OK(store->Write(
        "meta", [](WriteTxn& txn) { return txn.PutMeta("wrapped_mac_key", AsBytes("wrapped")); }));
  }
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  StatusOr<ReadTxn> read = store->BeginRead();
  ASSERT_OK(read);
  StatusOr<Record> a = read->Get(Table::kSecureValues, "ns/a");
  ASSERT_OK(a);
  EXPECT_EQ(ValueOf(*a), "alpha-2");
  EXPECT_EQ(a->generation, 2u);
  StatusOr<Record> admin = read->Get(Table::kUsers, "admin");
  ASSERT_OK(admin);
  EXPECT_EQ(ValueOf(*admin), "user-row");
  EXPECT_EQ(admin->generation, 1u);
  EXPECT_EQ(AsChars(*read->GetMeta("wrapped_mac_key")), "wrapped");
  EXPECT_EQ(read->resource_version(), 4u);
  // A key of one table is not visible in another.
  EXPECT_EQ(read->Get(Table::kUsers, "ns/a").error().code(), StatusCode::kNotFound);
}

TEST(Store, ResourceVersionIncrementsOncePerSuccessfulWriteAndSurvivesReopen) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->BeginRead()->resource_version(), 0u);
    StatusOr<WriteReceipt> first = store->Write("two puts", [](WriteTxn& txn) -> Status {
      EXPECT_EQ(txn.resource_version(), 1u);
      SR_RETURN_IF_ERROR(txn.Put(Table::kTokens, "t1", AsBytes("x")));
      SR_RETURN_IF_ERROR(txn.Put(Table::kTokens, "t2", AsBytes("y")));
      return Status::Ok();
    });
    ASSERT_OK(first);
    EXPECT_EQ(first->resource_version, 1u);
    StatusOr<WriteReceipt> failed = store->Write("fails", [](WriteTxn& txn) -> Status {
      SR_RETURN_IF_ERROR(txn.Put(Table::kTokens, "t3", AsBytes("z")));
      return Status::Aborted("conflict");
    });
    ASSERT_STATUS(failed, StatusCode::kAborted);
    StatusOr<WriteReceipt> second = store->Write("empty", [](WriteTxn&) { return Status::Ok(); });
    ASSERT_OK(second);
    EXPECT_EQ(second->resource_version, 2u);
    StatusOr<ReadTxn> read = store->BeginRead();
    EXPECT_EQ(read->resource_version(), 2u);
    EXPECT_EQ(read->Get(Table::kTokens, "t3").error().code(), StatusCode::kNotFound);
  }
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->BeginRead()->resource_version(), 2u);
  EXPECT_EQ(PutValue(*store, Table::kTokens, "t4", "w")->resource_version, 3u);
}

TEST(Store, PutBumpsTheGenerationAndDeleteStartsItOver) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  for (std::uint64_t expected = 1; expected <= 3; ++expected) {
    ASSERT_OK(store->Write("put", [&](WriteTxn& txn) -> Status {
      SR_ASSIGN_OR_RETURN(std::uint64_t next, txn.NextGeneration(Table::kKeks, "kek-1"));
      EXPECT_EQ(next, expected);
      SR_ASSIGN_OR_RETURN(std::uint64_t put, txn.Put(Table::kKeks, "kek-1", AsBytes("k")));
      EXPECT_EQ(put, expected);
      return Status::Ok();
    }));
  }
  EXPECT_EQ(store->BeginRead()->Get(Table::kKeks, "kek-1")->generation, 3u);
  auto delete_kek = [](WriteTxn& txn) { return txn.Delete(Table::kKeks, "kek-1"); };
  ASSERT_OK(store->Write("delete", delete_kek));
  StatusOr<WriteReceipt> again = store->Write("delete", delete_kek);
  ASSERT_STATUS(again, StatusCode::kNotFound);
  ASSERT_OK(PutValue(*store, Table::kKeks, "kek-1", "k"));
  EXPECT_EQ(store->BeginRead()->Get(Table::kKeks, "kek-1")->generation, 1u);
}

TEST(Store, CacheGenerationsBumpOncePerWriteAndSurviveReopen) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    StatusOr<ReadTxn> before = store->BeginRead();
    ASSERT_OK(store->Write("bump", [](WriteTxn& txn) {
      txn.BumpGeneration(CacheKind::kTokens);
      txn.BumpGeneration(CacheKind::kTokens);
      txn.BumpGeneration(CacheKind::kPolicy);
      return Status::Ok();
    }));
    ASSERT_OK(store->Write("bump", [](WriteTxn& txn) {
      txn.BumpGeneration(CacheKind::kTokens);
      return Status::Ok();
    }));
    ASSERT_FALSE(store->Write("bump then fail", [](WriteTxn& txn) {
      txn.BumpGeneration(CacheKind::kDataKeys);
      return Status::InvalidArgument("no");
    }).has_value());
    // The snapshot taken before keeps its values.
    EXPECT_EQ(before->generation(CacheKind::kTokens), 0u);
  }
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  StatusOr<ReadTxn> read = store->BeginRead();
  EXPECT_EQ(read->generation(CacheKind::kTokens), 2u);
  EXPECT_EQ(read->generation(CacheKind::kPolicy), 1u);
  EXPECT_EQ(read->generation(CacheKind::kDataKeys), 0u);
  EXPECT_EQ(read->generation(CacheKind::kCredentials), 0u);
}

TEST(Store, AnUnreadableGenerationNeverMatchesAnything) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
  }
  {
    testing::RawStoreFile raw(options.data_dir);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw.Put("meta", "generation/policy", "bad"));  // not 8 bytes
  }
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  StatusOr<ReadTxn> read = store->BeginRead();
  ASSERT_OK(read) << "only the damaged counter is affected";
  const std::uint64_t first = read->generation(CacheKind::kPolicy);
  const std::uint64_t second = read->generation(CacheKind::kPolicy);
  EXPECT_GE(first, std::uint64_t{1} << 63);
  EXPECT_NE(first, second) << "a cache keyed on it must miss every time";
  EXPECT_EQ(read->generation(CacheKind::kTokens), 0u);
}

TEST(Store, ReadTxnIsASnapshotAndMayOutliveTheStore) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v1"));
  StatusOr<ReadTxn> old_read = store->BeginRead();
  ASSERT_OK(old_read);
  ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v2"));
  ASSERT_OK(PutValue(*store, Table::kUsers, "w", "new"));
  EXPECT_EQ(ValueOf(*old_read->Get(Table::kUsers, "u")), "v1");
  EXPECT_EQ(old_read->Get(Table::kUsers, "w").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(old_read->resource_version(), 1u);
  StatusOr<ReadTxn> new_read = store->BeginRead();
  EXPECT_EQ(ValueOf(*new_read->Get(Table::kUsers, "u")), "v2");
  EXPECT_EQ(new_read->resource_version(), 3u);
  store.reset();
  // The environment stays open until the last snapshot is released.
  EXPECT_EQ(ValueOf(*old_read->Get(Table::kUsers, "u")), "v1");
}

// A released snapshot's LMDB transaction is reset and renewed by the next
// BeginRead (storage/read_txn_pool.h): the renewed one must see every
// commit made meanwhile, whichever thread released or renews it, while a
// snapshot still held keeps its own view.
TEST(Store, ASnapshotBegunAfterACommitSeesItThoughItsTransactionIsReused) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v1"));
  StatusOr<ReadTxn> held = store->BeginRead();
  ASSERT_OK(held);
  for (int round = 2; round <= 20; ++round) {
    {
      StatusOr<ReadTxn> read = store->BeginRead();
      ASSERT_OK(read);
      EXPECT_EQ(ValueOf(*read->Get(Table::kUsers, "u")), "v" + std::to_string(round - 1));
      if (round % 2 == 0) {
        // Released on another thread, which then exits.
        std::thread([moved = std::move(*read)]() mutable {
          ReadTxn gone = std::move(moved);
        }).join();
      }
    }
    ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v" + std::to_string(round)));
    std::optional<StatusOr<ReadTxn>> fresh;
    std::thread([&] { fresh.emplace(store->BeginRead()); }).join();
    ASSERT_OK(*fresh);
    EXPECT_EQ(ValueOf(*(*fresh)->Get(Table::kUsers, "u")), "v" + std::to_string(round));
    EXPECT_EQ((*fresh)->resource_version(), static_cast<std::uint64_t>(round));
  }
  EXPECT_EQ(ValueOf(*held->Get(Table::kUsers, "u")), "v1");
  EXPECT_EQ(held->resource_version(), 1u);
  // Released after the store: the environment closes after the last one.
  store.reset();
  EXPECT_EQ(ValueOf(*held->Get(Table::kUsers, "u")), "v1");
}

TEST(Store, WriteTxnSeesItsOwnChanges) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kBindings, "b/1", "one"));
  StatusOr<WriteReceipt> receipt = store->Write("own changes", [](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(Table::kBindings, "b/2", AsBytes("two")));
    SR_ASSIGN_OR_RETURN(Record two, txn.Get(Table::kBindings, "b/2"));
    EXPECT_EQ(ValueOf(two), "two");
    SR_RETURN_IF_ERROR(txn.Delete(Table::kBindings, "b/1"));
    EXPECT_EQ(txn.Get(Table::kBindings, "b/1").error().code(), StatusCode::kNotFound);
    std::vector<std::string> keys;
    auto collect = [&](std::string_view key, const Record&) {
      keys.emplace_back(key);
      return true;
    };
    SR_RETURN_IF_ERROR(txn.Scan(Table::kBindings, "b/", "", collect));
    EXPECT_EQ(keys, std::vector<std::string>{"b/2"});
    SR_RETURN_IF_ERROR(txn.PutMeta("note", AsBytes("n")));
    SR_ASSIGN_OR_RETURN(Bytes note, txn.GetMeta("note"));
    EXPECT_EQ(AsChars(note), "n");
    return Status::Ok();
  });
  ASSERT_OK(receipt);
}

TEST(Store, ScanHonoursPrefixAfterAndStop) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  for (std::string key : {"a/1", "b/1", "b/2", "b/3", "b0", "c/1"}) {
    ASSERT_OK(PutValue(*store, Table::kSensuSecrets, key, "v:" + key));
  }
  StatusOr<ReadTxn> read = store->BeginRead();
  auto scan = [&](std::string_view prefix, std::string_view after, std::size_t limit) {
    std::vector<std::string> keys;
    Status status = read->Scan(Table::kSensuSecrets, prefix, after,
                               [&](std::string_view key, const Record& record) {
                                 EXPECT_EQ(ValueOf(record), "v:" + std::string(key));
                                 keys.emplace_back(key);
                                 return keys.size() < limit;
                               });
    EXPECT_OK(status);
    return keys;
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(scan("b/", "", 100), (Keys{"b/1", "b/2", "b/3"}));
  EXPECT_EQ(scan("b/", "b/1", 100), (Keys{"b/2", "b/3"}));
  EXPECT_EQ(scan("b/", "b/15", 100), (Keys{"b/2", "b/3"}));
  EXPECT_EQ(scan("b/", "a", 100), (Keys{"b/1", "b/2", "b/3"}));
  EXPECT_EQ(scan("b/", "b/3", 100), Keys{});
  EXPECT_EQ(scan("b/", "", 2), (Keys{"b/1", "b/2"}));
  EXPECT_EQ(scan("", "b0", 100), (Keys{"c/1"}));
  EXPECT_EQ(scan("", "", 100).size(), 6u);
  EXPECT_EQ(scan("z", "", 100), Keys{});
}

TEST(Store, RefusesAStoreWithANewerSchemaVersion) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  ASSERT_NE(OpenTestStore(options), nullptr);
  {
    RawStoreFile raw(options.data_dir);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw.Get("meta", "schema_version"), std::string("\0\0\0\2", 4));
    ASSERT_TRUE(raw.Put("meta", "schema_version", std::string("\0\0\0\3", 4)));
  }
  StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_STATUS(store, StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.error().message(),
            "the store has schema version 3, newer than schema version 2 that this strongroom "
            "supports: it was written by a newer strongroom; run that version (or newer)");
}

TEST(Store, AuthenticatedTablesNeedAnAuthenticator) {
  TempDir dir;
  StatusOr<std::unique_ptr<Store>> store = Store::Open(TestOptions(dir));
  ASSERT_OK(store);
  StatusOr<WriteReceipt> put = PutValue(**store, Table::kUsers, "u", "v");
  ASSERT_STATUS(put, StatusCode::kFailedPrecondition);
  StatusOr<ReadTxn> read = (*store)->BeginRead();
  EXPECT_EQ(read->Get(Table::kUsers, "u").error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read->resource_version(), 0u);
  // kMeta works without one (it holds what is needed to build one).
  ASSERT_OK((*store)->Write(
      "meta", [](WriteTxn& txn) { return txn.PutMeta("wrapped_mac_key", AsBytes("w")); }));
  // The authenticator failing (key unavailable) fails only that write.
  auto authenticator = std::make_shared<testing::HmacTestAuthenticator>();
  (*store)->SetAuthenticator(authenticator);
  authenticator->set_available(false);
  EXPECT_EQ(PutValue(**store, Table::kUsers, "u", "v").error().code(),
            StatusCode::kFailedPrecondition);
  authenticator->set_available(true);
  EXPECT_OK(PutValue(**store, Table::kUsers, "u", "v"));
}

TEST(Store, RefusesReservedMetaKeysBadKeysAndMetaAsARecordTable) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  for (std::string key : {"resource_version", "schema_version", "generation/tokens"}) {
    StatusOr<WriteReceipt> r = store->Write("meta", [&](WriteTxn& txn) {
      return txn.PutMeta(key, AsBytes("\xff\xff\xff\xff\xff\xff\xff\xff"));
    });
    ASSERT_STATUS(r, StatusCode::kInvalidArgument) << key;
  }
  EXPECT_EQ(PutValue(*store, Table::kUsers, "", "v").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PutValue(*store, Table::kUsers, std::string(600, 'k'), "v").error().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(PutValue(*store, Table::kMeta, "x", "v").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->BeginRead()->resource_version(), 0u);
}

TEST(Store, CreatesPrivateDirectoriesAndHonoursCreateIfMissing) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  options.create_if_missing = false;
  StatusOr<std::unique_ptr<Store>> missing = Store::Open(options);
  ASSERT_STATUS(missing, StatusCode::kNotFound);
  options.create_if_missing = true;
  ASSERT_NE(OpenTestStore(options), nullptr);
  for (const std::string& path : {options.data_dir, options.data_dir + "/store"}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << path;
  }
  struct stat st {};
  ASSERT_EQ(::stat((options.data_dir + "/store/data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  options.create_if_missing = false;
  EXPECT_NE(OpenTestStore(options), nullptr);
}

TEST(Store, ServerLockIsExclusiveAndVisibleToServerRunning) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  EXPECT_FALSE(*Store::ServerRunning(options.data_dir));  // no lock file yet
  options.hold_server_lock = true;
  auto server = OpenTestStore(options);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(*Store::ServerRunning(options.data_dir));
  StatusOr<std::unique_ptr<Store>> second = Store::Open(options);
  ASSERT_STATUS(second, StatusCode::kFailedPrecondition);
  // The refused open did not disturb the first store.
  EXPECT_OK(PutValue(*server, Table::kUsers, "u", "v"));
  server.reset();
  EXPECT_FALSE(*Store::ServerRunning(options.data_dir));
  EXPECT_NE(OpenTestStore(options), nullptr);
}

TEST(Store, SecondOpenOfOneStoreInAProcessIsRefused) {
  TempDir dir;
  auto store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  StatusOr<std::unique_ptr<Store>> second = Store::Open(TestOptions(dir));
  ASSERT_STATUS(second, StatusCode::kFailedPrecondition);
  EXPECT_OK(PutValue(*store, Table::kUsers, "u", "v"));
}

}  // namespace
}  // namespace strongroom::storage

// A full LMDB map: writes fail with kResourceExhausted, nothing is lost or
// corrupted, and the store stays usable.
#include <lmdb.h>

#include <gtest/gtest.h>

#include <string>
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

// The parameter is the value size: small values fill leaf pages, large ones
// overflow pages.
class MapFull : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(ValueSizes, MapFull, ::testing::Values(700, 3000));

constexpr int kPutsPerWrite = 4;

std::string Key(int i) { return "ns/secret-" + std::to_string(i); }
std::string Value(int i) {
  auto size = static_cast<std::size_t>(MapFull::GetParam());
  return std::string(size, static_cast<char>('a' + i % 26));
}

// ExpectAllPresent checks every acknowledged record reads back verified.
void ExpectAllPresent(Store& store, int acknowledged, int first = 0) {
  StatusOr<ReadTxn> read = store.BeginRead();
  ASSERT_OK(read);
  for (int i = first; i < acknowledged; ++i) {
    StatusOr<Record> record = read->Get(Table::kSecureValues, Key(i));
    ASSERT_OK(record) << i;
    ASSERT_EQ(ValueOf(*record), Value(i)) << i;
  }
}

// FillUntilFull writes kPutsPerWrite records per write until a write fails;
// returns how many records were acknowledged and the failure.
int FillUntilFull(Store& store, Status* failure) {
  int acknowledged = 0;
  while (failure->ok() && acknowledged < 10000) {
    StatusOr<WriteReceipt> put = store.Write("fill", [&](WriteTxn& txn) -> Status {
      for (int i = acknowledged; i < acknowledged + kPutsPerWrite; ++i) {
        SR_RETURN_IF_ERROR(txn.Put(Table::kSecureValues, Key(i), AsBytes(Value(i))));
      }
      return Status::Ok();
    });
    if (put.has_value()) {
      acknowledged += kPutsPerWrite;
    } else {
      *failure = put.error();
    }
  }
  return acknowledged;
}

// ExpectDeletionsStillWork deletes records 0..39 of a full store (one by
// one, then many at once) and checks the room they free can be used.
void ExpectDeletionsStillWork(Store& store) {
  for (int i = 0; i < 5; ++i) {
    StatusOr<WriteReceipt> deleted = store.Write("delete", [i](WriteTxn& txn) {
      return txn.Delete(Table::kSecureValues, Key(i));
    });
    ASSERT_OK(deleted) << i;
  }
  StatusOr<WriteReceipt> deleted = store.Write("delete", [](WriteTxn& txn) -> Status {
    for (int i = 5; i < 40; ++i) SR_RETURN_IF_ERROR(txn.Delete(Table::kSecureValues, Key(i)));
    return Status::Ok();
  });
  ASSERT_OK(deleted);
  // Pages a commit frees are reusable two commits later.
  ASSERT_OK(store.Write("nothing", [](WriteTxn&) { return Status::Ok(); }));
  StatusOr<WriteReceipt> small = PutValue(store, Table::kSystem, "after-full", "fits");
  ASSERT_OK(small);
}

TEST_P(MapFull, WritesFailCleanlyAndTheStoreStaysUsable) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  options.map_size_bytes = std::size_t{1} << 20;
  int acknowledged = 0;
  std::uint64_t version_when_full = 0;
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    Status full;
    acknowledged = FillUntilFull(*store, &full);
    ASSERT_EQ(full.code(), StatusCode::kResourceExhausted) << full;
    EXPECT_NE(full.message().find("1048576"), std::string::npos) << full;
    EXPECT_NE(full.message().find("map_size_bytes"), std::string::npos) << full;
    ASSERT_GT(acknowledged, 100);
    version_when_full = store->BeginRead()->resource_version();
    EXPECT_EQ(version_when_full, static_cast<std::uint64_t>(acknowledged / kPutsPerWrite));
    ExpectAllPresent(*store, acknowledged);

    // A write that ignores the failure of its own Put is not committed.
    StatusOr<WriteReceipt> ignoring = store->Write("ignores errors", [](WriteTxn& txn) {
      for (int i = 0; i < 50; ++i) {
        (void)txn.Put(Table::kSecureValues, "extra/" + std::to_string(i), AsBytes(Value(i)));
      }
      return Status::Ok();
    });
    ASSERT_STATUS(ignoring, StatusCode::kResourceExhausted);
    EXPECT_EQ(store->BeginRead()->Get(Table::kSecureValues, "extra/0").error().code(),
              StatusCode::kNotFound);

    ExpectDeletionsStillWork(*store);
    EXPECT_EQ(store->BeginRead()->resource_version(), version_when_full + 8);
    ExpectAllPresent(*store, acknowledged, 40);
  }
  {
    // The file is a sound LMDB environment.
    RawStoreFile raw(options.data_dir);
    ASSERT_TRUE(raw.ok());
    EXPECT_TRUE(raw.Get("secure_values", Key(acknowledged - 1)).has_value());
  }
  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  ExpectAllPresent(*store, acknowledged, 40);
  EXPECT_EQ(store->BeginRead()->resource_version(), version_when_full + 8);
  store.reset();
  // Raising the map size makes room.
  options.map_size_bytes = std::size_t{4} << 20;
  store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_OK(PutValue(*store, Table::kSecureValues, Key(20000), Value(20000)));
  ExpectAllPresent(*store, acknowledged, 40);
}

}  // namespace
}  // namespace strongroom::storage

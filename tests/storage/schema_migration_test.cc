// Store::MigrateSchema: an older store opens, migrates forward in one write,
// and keeps its records; a current one is left alone.
#include <gtest/gtest.h>

#include <string>

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
using testing_support::WriteFileBytes;

// MakeSchema1Store leaves in `options.data_dir` a store with one record
// whose schema version says 1, as a store written before schema 2.
void MakeSchema1Store(const StoreOptions& options) {
  std::unique_ptr<Store> store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kSystem, "kept", "value"));
  store.reset();
  RawStoreFile raw(options.data_dir);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw.Put("meta", "schema_version", std::string("\0\0\0\1", 4)));
}

TEST(SchemaMigration, ANewStoreIsWrittenAtTheCurrentVersionAndNeedsNoMigration) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), kSchemaVersion);
  StatusOr<std::optional<SchemaMigration>> migrated = store->MigrateSchema("store.migrate");
  ASSERT_OK(migrated);
  EXPECT_FALSE(migrated->has_value());
  StatusOr<ReadTxn> txn = store->BeginRead();
  ASSERT_OK(txn);
  EXPECT_EQ(txn->resource_version(), 0u) << "a store needing no migration is not written";
}

TEST(SchemaMigration, AnOlderStoreMigratesForwardInOneWriteAndKeepsItsRecords) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  MakeSchema1Store(options);
  std::unique_ptr<Store> store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), 1u);
  std::uint64_t before = store->BeginRead()->resource_version();

  StatusOr<std::optional<SchemaMigration>> migrated = store->MigrateSchema("store.migrate");
  ASSERT_OK(migrated);
  ASSERT_TRUE(migrated->has_value());
  EXPECT_EQ((*migrated)->from_version, 1u);
  EXPECT_EQ((*migrated)->to_version, kSchemaVersion);
  EXPECT_EQ((*migrated)->resource_version, before + 1);
  EXPECT_EQ(store->schema_version(), kSchemaVersion);
  StatusOr<ReadTxn> txn = store->BeginRead();
  ASSERT_OK(txn);
  StatusOr<Record> kept = txn->Get(Table::kSystem, "kept");
  ASSERT_OK(kept);
  EXPECT_EQ(ValueOf(*kept), "value");
  EXPECT_OK(store->VerifyIntegrity());

  // A second call finds nothing to do.
  StatusOr<std::optional<SchemaMigration>> again = store->MigrateSchema("store.migrate");
  ASSERT_OK(again);
  EXPECT_FALSE(again->has_value());
  store.reset();

  RawStoreFile raw(options.data_dir);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.Get("meta", "schema_version"), std::string("\0\0\0\2", 4));
}

TEST(SchemaMigration, AStoreMigratedByAnotherProcessMeanwhileIsNotMigratedTwice) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  MakeSchema1Store(options);
  std::unique_ptr<Store> store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->schema_version(), 1u);
  std::uint64_t before = store->BeginRead()->resource_version();
  // Another process writes the current version after this one opened.
  ASSERT_TRUE(WriteFileBytes(dir.Join("current-version"), std::string("\0\0\0\2", 4)));
  testing::OtherProcess other(options.data_dir, dir.path());
  ASSERT_TRUE(other.RestoreRaw(Table::kMeta, "schema_version", "current-version"));

  StatusOr<std::optional<SchemaMigration>> migrated = store->MigrateSchema("store.migrate");
  ASSERT_OK(migrated);
  EXPECT_FALSE(migrated->has_value());
  EXPECT_EQ(store->schema_version(), kSchemaVersion);
  EXPECT_EQ(store->BeginRead()->resource_version(), before) << "nothing was written";
}

TEST(SchemaMigration, TheStoreRefusesToWriteItsVersionThroughPutMeta) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenTestStore(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  StatusOr<WriteReceipt> written = store->Write("t", [](WriteTxn& txn) {
    return txn.PutMeta("schema_version", AsBytes(std::string_view("\0\0\0\7", 4)));
  });
  ASSERT_STATUS(written, StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::storage

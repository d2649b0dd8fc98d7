// Backup (online compacting copy) and InstallBackup (offline restore).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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
using testing_support::WriteFileBytes;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Backup, InstallBackupRestoresTheSnapshotAndKeepsTheOldStore) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  const std::string backup_dir = dir.Join("backup");
  ASSERT_EQ(::mkdir(backup_dir.c_str(), 0700), 0);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/a", "a1"));
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/deleted", "d"));
    ASSERT_OK(store->Write(
        "delete", [](WriteTxn& txn) { return txn.Delete(Table::kSecureValues, "ns/deleted"); }));
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/a", "a2"));
    ASSERT_OK(store->Backup(backup_dir));
    struct stat st {};
    ASSERT_EQ(::stat((backup_dir + "/data.mdb").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0u);
    // Changes after the backup are not in it.
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/a", "a3"));
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/later", "l"));
    // A second backup into the same place is refused, the first is kept.
    EXPECT_EQ(store->Backup(backup_dir).code(), StatusCode::kAlreadyExists);
  }
  Status installed = Store::InstallBackup(backup_dir, options.data_dir);
  ASSERT_OK(installed);
  std::vector<std::string> entries = Entries(options.data_dir);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], "store");
  EXPECT_TRUE(entries[1].starts_with("store.before-restore-")) << entries[1];

  auto store = OpenTestStore(options);
  ASSERT_NE(store, nullptr);
  StatusOr<ReadTxn> read = store->BeginRead();
  EXPECT_EQ(read->resource_version(), 4u);
  StatusOr<Record> a = read->Get(Table::kSecureValues, "ns/a");
  ASSERT_OK(a);
  EXPECT_EQ(ValueOf(*a), "a2");
  EXPECT_EQ(a->generation, 2u);
  EXPECT_EQ(read->Get(Table::kSecureValues, "ns/later").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(read->Get(Table::kSecureValues, "ns/deleted").error().code(), StatusCode::kNotFound);
  StatusOr<WriteReceipt> next = PutValue(*store, Table::kSecureValues, "ns/b", "b");
  ASSERT_OK(next);
  EXPECT_EQ(next->resource_version, 5u);
  store.reset();

  // The old store is intact where it was kept.
  RawStoreFile old_store(options.data_dir, entries[1]);
  ASSERT_TRUE(old_store.ok());
  EXPECT_TRUE(old_store.Get("secure_values", "ns/later").has_value());
}

TEST(Backup, InstallBackupIsRefusedWhileTheStoreIsInUse) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  options.hold_server_lock = true;
  const std::string backup_dir = dir.Join("backup");
  ASSERT_EQ(::mkdir(backup_dir.c_str(), 0700), 0);
  auto server = OpenTestStore(options);
  ASSERT_NE(server, nullptr);
  ASSERT_OK(PutValue(*server, Table::kUsers, "u", "v"));
  ASSERT_OK(server->Backup(backup_dir));
  Status refused = Store::InstallBackup(backup_dir, options.data_dir);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("running"), std::string::npos) << refused;
  server.reset();
  // Open in this process without the server lock: refused too.
  options.hold_server_lock = false;
  auto cli = OpenTestStore(options);
  ASSERT_NE(cli, nullptr);
  EXPECT_EQ(Store::InstallBackup(backup_dir, options.data_dir).code(),
            StatusCode::kFailedPrecondition);
  cli.reset();
  EXPECT_OK(Store::InstallBackup(backup_dir, options.data_dir));
}

TEST(Backup, InstallBackupRefusesWhatIsNotASupportedStore) {
  TempDir dir;
  StoreOptions options = TestOptions(dir);
  {
    auto store = OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "u", "current"));
  }
  auto expect_refused = [&](const std::string& backup_dir) -> Status {
    Status status = Store::InstallBackup(backup_dir, options.data_dir);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(Entries(options.data_dir), std::vector<std::string>{"store"}) << status;
    auto store = OpenTestStore(options);
    EXPECT_NE(store, nullptr);
    if (store != nullptr) {
      EXPECT_EQ(ValueOf(*store->BeginRead()->Get(Table::kUsers, "u")), "current");
    }
    return status;
  };
  // No backup at all.
  EXPECT_EQ(expect_refused(dir.Join("nowhere")).code(), StatusCode::kNotFound);
  // Not an LMDB file.
  const std::string garbage = dir.Join("garbage");
  ASSERT_EQ(::mkdir(garbage.c_str(), 0700), 0);
  ASSERT_TRUE(WriteFileBytes(garbage + "/data.mdb", std::string(8192, 'x')));
  EXPECT_FALSE(expect_refused(garbage).ok());
  // A store of a newer schema.
  TempDir newer_dir;
  StoreOptions newer = TestOptions(newer_dir);
  ASSERT_NE(OpenTestStore(newer), nullptr);
  {
    RawStoreFile raw(newer.data_dir);
    ASSERT_TRUE(raw.Put("meta", "schema_version", std::string("\0\0\0\7", 4)));
  }
  EXPECT_EQ(expect_refused(newer.data_dir + "/store").code(), StatusCode::kFailedPrecondition);
}

TEST(Backup, InstallBackupIntoAnEmptyDataDirectory) {
  TempDir source_dir, target_dir;
  const std::string backup_dir = source_dir.Join("backup");
  ASSERT_EQ(::mkdir(backup_dir.c_str(), 0700), 0);
  {
    auto store = OpenTestStore(TestOptions(source_dir));
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kTokens, "t", "row"));
    ASSERT_OK(store->Backup(backup_dir));
  }
  StoreOptions target = TestOptions(target_dir);
  ASSERT_OK(Store::InstallBackup(backup_dir, target.data_dir));
  EXPECT_EQ(Entries(target.data_dir), std::vector<std::string>{"store"});
  // Verifying the copy left no LMDB lock file behind.
  EXPECT_EQ(Entries(target.data_dir + "/store"), std::vector<std::string>{"data.mdb"});
  target.create_if_missing = false;
  auto store = OpenTestStore(target);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ValueOf(*store->BeginRead()->Get(Table::kTokens, "t")), "row");
}

}  // namespace
}  // namespace strongroom::storage

// Record integrity: bytes edited directly in the LMDB file are refused.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
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
using testing_support::TempDir;

constexpr std::size_t kHeader = 1 + 8;  // format version, generation
constexpr std::size_t kTagSize = 32;

class Integrity : public ::testing::Test {
 protected:
  void SetUp() override { options_ = TestOptions(dir_); }

  // Write runs `puts` (table, key, value) in order and closes the store.
  void Write(const std::vector<std::tuple<Table, std::string, std::string>>& puts) {
    auto store = OpenTestStore(options_);
    ASSERT_NE(store, nullptr);
    for (const auto& [table, key, value] : puts) {
      ASSERT_OK(PutValue(*store, table, key, value));
    }
  }

  // ExpectIntegrityError reopens the store and expects Get and Scan of
  // (table, key) to fail with kIntegrityError without revealing `value`.
  void ExpectIntegrityError(Table table, const std::string& key, const std::string& value) {
    auto store = OpenTestStore(options_);
    ASSERT_NE(store, nullptr);
    StatusOr<ReadTxn> read = store->BeginRead();
    ASSERT_OK(read);
    StatusOr<Record> record = read->Get(table, key);
    ASSERT_STATUS(record, StatusCode::kIntegrityError) << "tampered record was returned";
    EXPECT_NE(record.error().message().find(key), std::string::npos) << record.error();
    EXPECT_NE(record.error().message().find(std::string(TableName(table))), std::string::npos);
    EXPECT_EQ(record.error().message().find(value), std::string::npos) << record.error();
    bool visited = false;
    Status scan = read->Scan(table, "", "", [&](std::string_view k, const Record&) {
      visited = visited || k == key;
      return true;
    });
    EXPECT_EQ(scan.code(), StatusCode::kIntegrityError);
    EXPECT_FALSE(visited);
  }

  TempDir dir_;
  StoreOptions options_;
};

TEST_F(Integrity, OneFlippedValueByteIsRefused) {
  Write({{Table::kSecureValues, "ns/db", "decrypters=[svc-a]"}});
  {
    RawStoreFile raw(options_.data_dir);
    std::string stored = *raw.Get("secure_values", "ns/db");
    stored[kHeader + 16] ^= 0x01;  // "svc-a" -> "svc-`"
    ASSERT_TRUE(raw.Put("secure_values", "ns/db", stored));
  }
  ExpectIntegrityError(Table::kSecureValues, "ns/db", "decrypters=[svc-");
}

TEST_F(Integrity, RecordCopiedFromAnotherKeyOrTableIsRefused) {
  Write({{Table::kUsers, "alice", "role=viewer"},
         {Table::kUsers, "mallory", "role=admin"},
         {Table::kTokens, "alice", "token-row"}});
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("users", "alice", *raw.Get("users", "mallory")));
    ASSERT_TRUE(raw.Put("tokens", "alice", *raw.Get("users", "mallory")));
  }
  ExpectIntegrityError(Table::kUsers, "alice", "role=admin");
  ExpectIntegrityError(Table::kTokens, "alice", "role=admin");
}

TEST_F(Integrity, OlderGenerationsBytesUnderTheCurrentGenerationAreRefused) {
  Write({{Table::kBindings, "b", "old-binding"}});
  std::string generation1;
  {
    RawStoreFile raw(options_.data_dir);
    generation1 = *raw.Get("bindings", "b");
  }
  Write({{Table::kBindings, "b", "new-binding"}});
  {
    RawStoreFile raw(options_.data_dir);
    std::string generation2 = *raw.Get("bindings", "b");
    ASSERT_EQ(generation2[8], 2);
    // The old value and its MAC, relabelled with the current generation.
    std::string replayed = generation1;
    replayed.replace(1, 8, generation2.substr(1, 8));
    ASSERT_TRUE(raw.Put("bindings", "b", replayed));
  }
  ExpectIntegrityError(Table::kBindings, "b", "old-binding");
}

TEST_F(Integrity, EditedGenerationIsRefused) {
  Write({{Table::kKeks, "kek-1", "label"}});
  {
    RawStoreFile raw(options_.data_dir);
    std::string stored = *raw.Get("keks", "kek-1");
    stored[8] = 9;
    ASSERT_TRUE(raw.Put("keks", "kek-1", stored));
  }
  ExpectIntegrityError(Table::kKeks, "kek-1", "label");
}

TEST_F(Integrity, MalformedRecordsAreRefused) {
  Write({{Table::kSystem, "a", "value-a"}, {Table::kSystem, "b", "value-b"},
         {Table::kSystem, "c", "value-c"}});
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("system", "a", std::string(kHeader + kTagSize - 1, '\1')));
    std::string b = *raw.Get("system", "b");
    b[0] = 2;  // unknown format version
    ASSERT_TRUE(raw.Put("system", "b", b));
    std::string c = *raw.Get("system", "c");
    c.replace(1, 8, std::string(8, '\0'));  // generation 0
    ASSERT_TRUE(raw.Put("system", "c", c));
  }
  ExpectIntegrityError(Table::kSystem, "a", "value-a");
  ExpectIntegrityError(Table::kSystem, "b", "value-b");
  ExpectIntegrityError(Table::kSystem, "c", "value-c");
}

TEST_F(Integrity, TamperedRecordIsNeverSilentlyOverwrittenButCanBeDeleted) {
  Write({{Table::kDataKeys, "dek-1", "wrapped"}});
  {
    RawStoreFile raw(options_.data_dir);
    std::string stored = *raw.Get("data_keys", "dek-1");
    stored.back() ^= 0x80;  // last MAC byte
    ASSERT_TRUE(raw.Put("data_keys", "dek-1", stored));
  }
  auto store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  StatusOr<WriteReceipt> put = PutValue(*store, Table::kDataKeys, "dek-1", "replacement");
  ASSERT_STATUS(put, StatusCode::kIntegrityError);
  ASSERT_OK(
      store->Write("delete", [](WriteTxn& txn) { return txn.Delete(Table::kDataKeys, "dek-1"); }));
  ASSERT_OK(PutValue(*store, Table::kDataKeys, "dek-1", "replacement"));
  EXPECT_EQ(store->BeginRead()->Get(Table::kDataKeys, "dek-1")->generation, 1u);
}

}  // namespace
}  // namespace strongroom::storage

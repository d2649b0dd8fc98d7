// ReplaceSecureValue: a replace lands only on the exact stored version its
// caller read, never on a record deleted and created again under the same
// name (the ABA a generation alone cannot see).
#include "storage/secure_value_record.h"

#include <gtest/gtest.h>

#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::OpenTestStore;
using testing::TestOptions;
using testing_support::TempDir;

constexpr char kKey[] = "team-a/db";

SecureValueRecord Value(const std::string& uid, const std::string& description) {
  SecureValueRecord r;
  r.namespace_name = "team-a";
  r.name = "db";
  r.uid = uid;
  r.description = description;
  r.decrypters = {"svc-a"};
  std::string envelope = "sealed:" + description;
  r.envelope.assign(envelope.begin(), envelope.end());
  return r;
}

class SecureValueReplaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore(TestOptions(dir_));
    ASSERT_NE(store_, nullptr);
  }

  // Puts `record` under its key (creating or overwriting, no checks) and
  // returns the version stored.
  SecureValueVersion Put(SecureValueRecord record) {
    std::uint64_t generation = 0;
    auto written = store_->Write("test:put", [&](WriteTxn& txn) -> Status {
      record.resource_version = txn.resource_version();
      SR_ASSIGN_OR_RETURN(generation,
                          txn.Put(Table::kSecureValues, kKey, EncodeSecureValueRecord(record)));
      return Status::Ok();
    });
    EXPECT_OK(written);
    return SecureValueVersion{record.uid, generation, record.resource_version};
  }

  Status Delete() {
    return ToStatus(store_->Write(
        "test:delete", [](WriteTxn& txn) { return txn.Delete(Table::kSecureValues, kKey); }));
  }

  StatusOr<std::uint64_t> Replace(const SecureValueVersion& read, SecureValueRecord replacement) {
    std::uint64_t generation = 0;
    auto written = store_->Write("test:replace", [&](WriteTxn& txn) -> Status {
      SR_ASSIGN_OR_RETURN(generation, ReplaceSecureValue(txn, read, replacement));
      return Status::Ok();
    });
    if (!written.has_value()) return std::unexpected(written.error());
    return generation;
  }

  // Stored returns the stored record and its generation.
  std::pair<SecureValueRecord, std::uint64_t> Stored() {
    auto read = store_->BeginRead();
    EXPECT_OK(read);
    auto raw = read->Get(Table::kSecureValues, kKey);
    EXPECT_OK(raw);
    auto record = DecodeSecureValueRecord(raw->value);
    EXPECT_OK(record);
    return {*record, raw->generation};
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SecureValueReplaceTest, ReplacesTheVersionItReadAndStampsTheWritesResourceVersion) {
  SecureValueVersion read = Put(Value("uid-1", "first"));
  StatusOr<std::uint64_t> replaced = Replace(read, Value("uid-1", "second"));
  ASSERT_OK(replaced);
  EXPECT_EQ(*replaced, read.generation + 1);
  auto [stored, generation] = Stored();
  EXPECT_EQ(stored.description, "second");
  EXPECT_EQ(generation, read.generation + 1);
  EXPECT_GT(stored.resource_version, read.resource_version);
}

TEST_F(SecureValueReplaceTest, RefusesAVersionChangedOrDeletedSinceItWasRead) {
  SecureValueVersion read = Put(Value("uid-1", "first"));
  Put(Value("uid-1", "changed"));
  StatusOr<std::uint64_t> stale = Replace(read, Value("uid-1", "lost update"));
  ASSERT_STATUS(stale, StatusCode::kAborted);

  ASSERT_OK(Delete());
  StatusOr<std::uint64_t> gone = Replace(read, Value("uid-1", "resurrected"));
  ASSERT_STATUS(gone, StatusCode::kAborted);
}

TEST_F(SecureValueReplaceTest, RefusesARecordDeletedAndCreatedAgainUpToTheGenerationItRead) {
  // The caller reads uid-old at generation 2...
  Put(Value("uid-old", "old v1"));
  SecureValueVersion read = Put(Value("uid-old", "old v2"));
  ASSERT_EQ(read.generation, 2u);
  // ...meanwhile the name is deleted and created again (a new uid), and
  // updated until its generation is the one the caller read.
  ASSERT_OK(Delete());
  Put(Value("uid-new", "new v1"));
  SecureValueVersion recreated = Put(Value("uid-new", "new v2"));
  ASSERT_EQ(recreated.generation, read.generation);

  StatusOr<std::uint64_t> replaced = Replace(read, Value("uid-old", "old v3"));
  ASSERT_STATUS(replaced, StatusCode::kAborted)
      << "the stale replace overwrote the recreated record";
  auto [stored, generation] = Stored();
  EXPECT_EQ(stored.uid, "uid-new");
  EXPECT_EQ(stored.description, "new v2");
  EXPECT_EQ(generation, recreated.generation);
}

}  // namespace
}  // namespace strongroom::storage

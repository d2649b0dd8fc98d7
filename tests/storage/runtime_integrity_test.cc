// Runtime store integrity: while a Store with an armed tag index is open,
// records written into data.mdb by another process (an old valid record put
// back, a deleted one restored, one removed) are refused on the next read;
// an honest write by another Strongroom process is accepted once the store's
// owner vouches for it. Every foreign write here comes from a separate
// process (store_tool) through liblmdb or through a second Store.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::OpenTestStore;
using testing::OtherProcess;
using testing::PutValue;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status;
}
template <typename T>
::testing::AssertionResult IsOk(const StatusOr<T>& value) {
  if (value.has_value()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << value.error();
}
::testing::AssertionResult HasCode(const Status& status, StatusCode code) {
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << status;
}
template <typename T>
::testing::AssertionResult HasCode(const StatusOr<T>& value, StatusCode code) {
  if (value.has_value()) return ::testing::AssertionFailure() << "got a value";
  return HasCode(value.error(), code);
}

// Values are never printed: each holds this marker, and no error message may.
constexpr std::string_view kSecretMarker = "s3cret-marker";

std::string Value(std::string_view version) {
  return std::string(kSecretMarker) + "-" + std::string(version);
}

class RuntimeIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = TestOptions(dir_);
    options_.tag_index = true;
    store_ = OpenTestStore(options_);
    ASSERT_NE(store_, nullptr);
  }

  // Arm builds the tag index the way the server does at start-up.
  void Arm() {
    ASSERT_TRUE(IsOk(store_->VerifyIntegrity()));
    ASSERT_TRUE(store_->tag_index_size().armed);
  }

  void Put(Table table, const std::string& key, const std::string& value) {
    ASSERT_TRUE(IsOk(PutValue(*store_, table, key, value)));
  }

  // ExpectRefused expects Get and Scan of (table, key) in a new snapshot to
  // fail with kIntegrityError naming table and key, without the value.
  void ExpectRefused(Table table, const std::string& key) {
    StatusOr<ReadTxn> read = store_->BeginRead();
    ASSERT_TRUE(IsOk(read));
    StatusOr<Record> record = read->Get(table, key);
    ASSERT_TRUE(HasCode(record, StatusCode::kIntegrityError));
    const std::string& message = record.error().message();
    EXPECT_NE(message.find(key), std::string::npos) << message;
    EXPECT_NE(message.find(std::string(TableName(table))), std::string::npos) << message;
    EXPECT_EQ(message.find(kSecretMarker), std::string::npos) << "the message reveals a value";
    bool visited = false;
    Status scan = read->Scan(table, "", "", [&](std::string_view k, const Record&) {
      visited = visited || k == key;
      return true;
    });
    EXPECT_TRUE(HasCode(scan, StatusCode::kIntegrityError));
    EXPECT_FALSE(visited) << "the refused record was visited";
  }

  std::string ReadValue(Table table, const std::string& key) {
    StatusOr<ReadTxn> read = store_->BeginRead();
    if (!read.has_value()) return "<" + read.error().ToString() + ">";
    StatusOr<Record> record = read->Get(table, key);
    if (!record.has_value()) return "<" + record.error().ToString() + ">";
    return ValueOf(*record);
  }

  TempDir dir_;
  TempDir scratch_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  OtherProcess other_{TestOptions(dir_).data_dir, scratch_.path()};
};

// The tables whose records grant access, with a key of the kind they hold.
struct TableCase {
  Table table;
  const char* key;
};

class ReplayInto : public RuntimeIntegrity, public ::testing::WithParamInterface<TableCase> {};

TEST_P(ReplayInto, AnOldValidRecordWrittenBackFromOutsideIsRefused) {
  const auto [table, key] = GetParam();
  Put(table, key, Value("v1"));
  Arm();
  ASSERT_TRUE(other_.SaveRaw(table, key, "v1"));
  Put(table, key, Value("v2"));
  ASSERT_EQ(ReadValue(table, key), Value("v2"));

  ASSERT_TRUE(other_.RestoreRaw(table, key, "v1"));
  ExpectRefused(table, key);
  // Nor does a write build on it (it would reuse generation 2).
  EXPECT_TRUE(HasCode(PutValue(*store_, table, key, Value("v3")), StatusCode::kIntegrityError));
}

TEST_P(ReplayInto, ADeletedRecordPutBackFromOutsideIsRefused) {
  const auto [table, key] = GetParam();
  Put(table, key, Value("v1"));
  Arm();
  ASSERT_TRUE(other_.SaveRaw(table, key, "v1"));
  ASSERT_TRUE(IsOk(store_->Write("delete", [&](WriteTxn& txn) { return txn.Delete(table, key); })));

  ASSERT_TRUE(other_.RestoreRaw(table, key, "v1"));
  ExpectRefused(table, key);
}

TEST_P(ReplayInto, ARecordDeletedFromOutsideIsRefusedNotReportedMissing) {
  const auto [table, key] = GetParam();
  Put(table, key, Value("v1"));
  Arm();
  ASSERT_TRUE(other_.DeleteRaw(table, key));
  StatusOr<ReadTxn> read = store_->BeginRead();
  ASSERT_TRUE(IsOk(read));
  StatusOr<Record> record = read->Get(table, key);
  ASSERT_TRUE(HasCode(record, StatusCode::kIntegrityError));
  EXPECT_NE(record.error().message().find(key), std::string::npos) << record.error();
}

INSTANTIATE_TEST_SUITE_P(EveryTableThatGrantsAccess, ReplayInto,
                         ::testing::Values(TableCase{Table::kSecureValues, "team-a/db-password"},
                                           TableCase{Table::kUsers, "alice"},
                                           TableCase{Table::kTokens, "token-hash-1"},
                                           TableCase{Table::kBindings, "binding-1"},
                                           TableCase{Table::kSensuSecrets, "default/sensu-secret"},
                                           TableCase{Table::kSensuProviders, "vault"},
                                           TableCase{Table::kSystem, "api-tokens-valid-after"},
                                           TableCase{Table::kDataKeys, "team-a.2026-12-01.1"},
                                           TableCase{Table::kKeks, "kek-1"}),
                         [](const ::testing::TestParamInfo<TableCase>& info) {
                           return std::string(TableName(info.param.table));
                         });

TEST_F(RuntimeIntegrity, AReadBeforeArmingIsNotCompared) {
  Put(Table::kUsers, "alice", Value("v1"));
  ASSERT_TRUE(other_.SaveRaw(Table::kUsers, "alice", "v1"));
  Put(Table::kUsers, "alice", Value("v2"));
  ASSERT_TRUE(other_.RestoreRaw(Table::kUsers, "alice", "v1"));
  EXPECT_FALSE(store_->tag_index_size().armed);
  EXPECT_EQ(ReadValue(Table::kUsers, "alice"), Value("v1"));  // only the MAC is checked
  // Arming runs the digest check, which finds the swap.
  EXPECT_TRUE(HasCode(store_->VerifyIntegrity(), StatusCode::kIntegrityError));
  EXPECT_FALSE(store_->tag_index_size().armed);
}

TEST_F(RuntimeIntegrity, AVouchedWriteByAnotherStrongroomProcessIsAcceptedAfterReverifying) {
  Put(Table::kUsers, "alice", Value("v1"));
  Put(Table::kUsers, "bob", Value("b1"));
  Arm();
  std::atomic<int> asked{0};
  store_->SetForeignWriteCheck([&]() -> StatusOr<std::uint64_t> {
    ++asked;
    return std::uint64_t{1000};
  });
  ASSERT_TRUE(other_.SaveRaw(Table::kUsers, "alice", "v1"));
  const std::uint64_t foreign_rv = other_.PutThroughStore(Table::kUsers, "alice", Value("v2"));
  ASSERT_GT(foreign_rv, 0u);

  EXPECT_EQ(ReadValue(Table::kUsers, "alice"), Value("v2"));
  EXPECT_EQ(asked.load(), 1);
  EXPECT_EQ(ReadValue(Table::kUsers, "bob"), Value("b1"));
  EXPECT_EQ(asked.load(), 1) << "an unchanged record needed no new check";
  EXPECT_EQ(store_->tag_index_size().live_records, 2u);
  EXPECT_TRUE(IsOk(store_->integrity_problem()));

  // The rebuilt index still refuses the older value put back.
  ASSERT_TRUE(other_.RestoreRaw(Table::kUsers, "alice", "v1"));
  ExpectRefused(Table::kUsers, "alice");
}

TEST_F(RuntimeIntegrity, AForeignWriteNotVouchedForIsRefused) {
  Put(Table::kTokens, "token-1", Value("v1"));
  Arm();
  std::uint64_t vouched = 0;
  {
    StatusOr<ReadTxn> read = store_->BeginRead();
    ASSERT_TRUE(IsOk(read));
    vouched = read->resource_version();  // the audit log has seen nothing newer
  }
  store_->SetForeignWriteCheck([&]() -> StatusOr<std::uint64_t> { return vouched; });
  ASSERT_GT(other_.PutThroughStore(Table::kTokens, "token-1", Value("v2")), 0u);
  ExpectRefused(Table::kTokens, "token-1");
  // Not latched: the store's digest still verifies.
  EXPECT_TRUE(IsOk(store_->integrity_problem()));
}

TEST_F(RuntimeIntegrity, AForeignWriteWithoutAForeignWriteCheckIsRefused) {
  Put(Table::kBindings, "b", Value("v1"));
  Arm();
  ASSERT_GT(other_.PutThroughStore(Table::kBindings, "b", Value("v2")), 0u);
  ExpectRefused(Table::kBindings, "b");
}

TEST_F(RuntimeIntegrity, AFailingForeignWriteCheckFailsClosed) {
  Put(Table::kBindings, "b", Value("v1"));
  Arm();
  store_->SetForeignWriteCheck([]() -> StatusOr<std::uint64_t> {
    return std::unexpected(Status::Unavailable("audit log unreadable"));
  });
  ASSERT_GT(other_.PutThroughStore(Table::kBindings, "b", Value("v2")), 0u);
  ExpectRefused(Table::kBindings, "b");
}

TEST_F(RuntimeIntegrity, AForeignWriteFollowedByOwnWritesNeedsOnlyTheForeignOneVouched) {
  Put(Table::kUsers, "alice", Value("v1"));
  Arm();
  const std::uint64_t foreign_rv = other_.PutThroughStore(Table::kUsers, "alice", Value("v2"));
  ASSERT_GT(foreign_rv, 0u);
  // This process writes after it: the audit log of the other process only
  // knows the foreign write.
  Put(Table::kUsers, "bob", Value("b1"));
  Put(Table::kUsers, "carol", Value("c1"));
  store_->SetForeignWriteCheck([&]() -> StatusOr<std::uint64_t> { return foreign_rv; });
  EXPECT_EQ(ReadValue(Table::kUsers, "alice"), Value("v2"));
  EXPECT_EQ(ReadValue(Table::kUsers, "bob"), Value("b1"));
}

TEST_F(RuntimeIntegrity, AReplayHiddenBehindAVouchedForeignWriteIsRefusedAndLatched) {
  Put(Table::kSecureValues, "ns/a", Value("a1"));
  Arm();
  ASSERT_TRUE(other_.SaveRaw(Table::kSecureValues, "ns/a", "a1"));
  Put(Table::kSecureValues, "ns/a", Value("a2"));
  // An honest CLI write, then the attacker's swap.
  ASSERT_GT(other_.PutThroughStore(Table::kSecureValues, "ns/b", Value("b1")), 0u);
  ASSERT_TRUE(other_.RestoreRaw(Table::kSecureValues, "ns/a", "a1"));
  store_->SetForeignWriteCheck([]() -> StatusOr<std::uint64_t> { return std::uint64_t{1000}; });
  // The re-verification's digest check finds the swap.
  ExpectRefused(Table::kSecureValues, "ns/a");
  EXPECT_TRUE(HasCode(store_->integrity_problem(), StatusCode::kIntegrityError));
}

TEST_F(RuntimeIntegrity, ABatchThatDoesNotCommitLeavesTheIndexAlone) {
  Put(Table::kUsers, "alice", Value("v1"));
  Arm();
  store_->SetPreCommitHook(
      [](std::span<const StagedWrite>) { return Status::Unavailable("audit disk full"); });
  EXPECT_TRUE(
      HasCode(PutValue(*store_, Table::kUsers, "alice", Value("v2")), StatusCode::kUnavailable));
  EXPECT_TRUE(HasCode(
      store_->Write("delete", [](WriteTxn& txn) { return txn.Delete(Table::kUsers, "alice"); }),
      StatusCode::kUnavailable));
  store_->SetPreCommitHook(nullptr);
  EXPECT_EQ(ReadValue(Table::kUsers, "alice"), Value("v1"));
  Put(Table::kUsers, "alice", Value("v3"));
  EXPECT_EQ(ReadValue(Table::kUsers, "alice"), Value("v3"));
}

TEST_F(RuntimeIntegrity, ASnapshotOlderThanAWriteIsNotRefused) {
  Put(Table::kUsers, "alice", Value("v1"));
  Put(Table::kUsers, "bob", Value("b1"));
  Arm();
  StatusOr<ReadTxn> before = store_->BeginRead();
  ASSERT_TRUE(IsOk(before));
  Put(Table::kUsers, "alice", Value("v2"));
  ASSERT_TRUE(IsOk(
      store_->Write("delete", [](WriteTxn& txn) { return txn.Delete(Table::kUsers, "bob"); })));
  Put(Table::kUsers, "carol", Value("c1"));
  StatusOr<Record> alice = before->Get(Table::kUsers, "alice");
  ASSERT_TRUE(IsOk(alice));
  EXPECT_EQ(ValueOf(*alice), Value("v1"));
  EXPECT_TRUE(IsOk(before->Get(Table::kUsers, "bob")));
  EXPECT_TRUE(HasCode(before->Get(Table::kUsers, "carol"), StatusCode::kNotFound));
  int seen = 0;
  EXPECT_TRUE(IsOk(before->Scan(Table::kUsers, "", "", [&](std::string_view, const Record&) {
    ++seen;
    return true;
  })));
  EXPECT_EQ(seen, 2);
  StatusOr<ReadTxn> after = store_->BeginRead();
  ASSERT_TRUE(IsOk(after));
  EXPECT_TRUE(HasCode(after->Get(Table::kUsers, "bob"), StatusCode::kNotFound));
  EXPECT_EQ(ReadValue(Table::kUsers, "carol"), Value("c1"));
}

TEST_F(RuntimeIntegrity, ThePeriodicCheckLatchesAFailureThatFailsEveryLaterRead) {
  Put(Table::kUsers, "alice", Value("v1"));
  Put(Table::kUsers, "bob", Value("b1"));
  Arm();
  EXPECT_TRUE(IsOk(store_->CheckIntegrityNow()));
  ASSERT_TRUE(other_.SaveRaw(Table::kUsers, "alice", "v1"));
  Put(Table::kUsers, "alice", Value("v2"));
  ASSERT_TRUE(other_.RestoreRaw(Table::kUsers, "alice", "v1"));

  Status checked = store_->CheckIntegrityNow();
  EXPECT_TRUE(HasCode(checked, StatusCode::kIntegrityError));
  EXPECT_EQ(checked.message().find(kSecretMarker), std::string::npos);
  Status problem = store_->integrity_problem();
  EXPECT_TRUE(HasCode(problem, StatusCode::kIntegrityError));
  // An untouched record is refused too, and writes fail.
  StatusOr<ReadTxn> read = store_->BeginRead();
  ASSERT_TRUE(IsOk(read));
  EXPECT_TRUE(HasCode(read->Get(Table::kUsers, "bob"), StatusCode::kIntegrityError));
  EXPECT_TRUE(
      HasCode(PutValue(*store_, Table::kUsers, "dave", Value("d1")), StatusCode::kIntegrityError));
  // Stays latched.
  EXPECT_TRUE(HasCode(store_->CheckIntegrityNow(), StatusCode::kIntegrityError));
  EXPECT_TRUE(HasCode(store_->integrity_problem(), StatusCode::kIntegrityError));
}

TEST_F(RuntimeIntegrity, AStoreRolledBackUnderTheServerIsRefusedAndLatched) {
  Put(Table::kUsers, "alice", Value("v1"));
  Arm();
  ASSERT_TRUE(other_.SaveRaw(Table::kMeta, "resource_version", "rv"));
  Put(Table::kUsers, "alice", Value("v2"));
  Put(Table::kUsers, "bob", Value("b1"));
  {
    StatusOr<ReadTxn> read = store_->BeginRead();  // this process has seen the newer version
    ASSERT_TRUE(IsOk(read));
  }
  ASSERT_TRUE(other_.RestoreRaw(Table::kMeta, "resource_version", "rv"));
  StatusOr<ReadTxn> read = store_->BeginRead();
  ASSERT_TRUE(IsOk(read));
  StatusOr<Record> record = read->Get(Table::kUsers, "bob");
  ASSERT_TRUE(HasCode(record, StatusCode::kIntegrityError));
  EXPECT_NE(record.error().message().find("rolled back"), std::string::npos) << record.error();
  EXPECT_TRUE(HasCode(store_->integrity_problem(), StatusCode::kIntegrityError));
}

TEST_F(RuntimeIntegrity, TombstonesArePrunedByTheSecondCheckAfterTheDelete) {
  Put(Table::kUsers, "alice", Value("v1"));
  Put(Table::kUsers, "bob", Value("b1"));
  Arm();
  ASSERT_TRUE(IsOk(
      store_->Write("delete", [](WriteTxn& txn) { return txn.Delete(Table::kUsers, "bob"); })));
  EXPECT_EQ(store_->tag_index_size().tombstones, 1u);
  ASSERT_TRUE(IsOk(store_->CheckIntegrityNow()));
  EXPECT_EQ(store_->tag_index_size().tombstones, 1u);
  Put(Table::kUsers, "carol", Value("c1"));
  ASSERT_TRUE(IsOk(store_->CheckIntegrityNow()));
  EXPECT_EQ(store_->tag_index_size().tombstones, 0u);
  EXPECT_EQ(store_->tag_index_size().live_records, 2u);
}

}  // namespace
}  // namespace strongroom::storage

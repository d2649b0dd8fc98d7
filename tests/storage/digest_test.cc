// Store digest: whole records swapped in, removed or added directly in the
// LMDB file (each with a valid per-record MAC) are found by VerifyIntegrity.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/storage.h"
#include "storage/store_digest.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage {
namespace {

using testing::HmacTestAuthenticator;
using testing::OpenTestStore;
using testing::PutValue;
using testing::RawStoreFile;
using testing::TestOptions;
using testing::ValueOf;
using testing_support::TempDir;

Status DeleteValue(Store& store, Table table, const std::string& key) {
  return ToStatus(
      store.Write("delete " + key, [&](WriteTxn& txn) { return txn.Delete(table, key); }));
}

// The digest arithmetic is modulo 2^256 with carries and borrows across
// bytes (not XOR, under which two equal tags would cancel).
TEST(StoreDigestArithmetic, AddsAndSubtractsBigEndianModulo2To256) {
  StoreDigest digest{};
  RecordTag one{};
  one[31] = 1;
  RecordTag all_ones{};
  all_ones.fill(0xff);  // 2^256 - 1
  AddTag(digest, all_ones);
  AddTag(digest, one);  // wraps to 0
  EXPECT_EQ(digest, StoreDigest{});
  SubtractTag(digest, one);  // borrows through every byte
  EXPECT_EQ(digest, all_ones);
  RecordTag low{};
  low[31] = 0xff;
  StoreDigest twice{};
  AddTag(twice, low);
  AddTag(twice, low);  // 0xff + 0xff = 0x01fe: carries into byte 30
  StoreDigest expected{};
  expected[30] = 0x01;
  expected[31] = 0xfe;
  EXPECT_EQ(twice, expected);
  SubtractTag(twice, low);
  EXPECT_EQ(twice, low);
}

class StoreIntegrity : public ::testing::Test {
 protected:
  void SetUp() override { options_ = TestOptions(dir_); }

  // Reopen opens the store (closed by the caller before raw edits).
  std::unique_ptr<Store> Reopen() { return OpenTestStore(options_); }

  // ExpectModifiedOutside reopens the store and expects VerifyIntegrity to
  // report a modification made outside Strongroom without naming `secret`.
  void ExpectModifiedOutside(const std::string& secret) {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    Status verified = store->VerifyIntegrity();
    EXPECT_EQ(verified.code(), StatusCode::kIntegrityError) << verified;
    EXPECT_NE(verified.message().find("modified outside Strongroom"), std::string::npos)
        << verified;
    EXPECT_EQ(verified.message().find(secret), std::string::npos) << verified;
  }

  TempDir dir_;
  StoreOptions options_;
};

TEST_F(StoreIntegrity, NewStoreVerifiesAndNeedsAnAuthenticator) {
  StatusOr<std::unique_ptr<Store>> store = Store::Open(options_);
  ASSERT_OK(store);
  EXPECT_EQ((*store)->VerifyIntegrity().code(), StatusCode::kFailedPrecondition);
  // Bootstrap: kMeta is written before the authenticator exists.
  ASSERT_OK((*store)->Write(
      "meta", [](WriteTxn& txn) { return txn.PutMeta("wrapped_mac_key", AsBytes("w")); }));
  (*store)->SetAuthenticator(std::make_shared<HmacTestAuthenticator>());
  EXPECT_OK((*store)->VerifyIntegrity());
  EXPECT_EQ(DeleteValue(**store, Table::kUsers, "absent").code(), StatusCode::kNotFound);
  EXPECT_OK((*store)->VerifyIntegrity());
}

TEST_F(StoreIntegrity, DeleteNeedsAnAuthenticator) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "u", "v"));
  }
  StatusOr<std::unique_ptr<Store>> store = Store::Open(options_);
  ASSERT_OK(store);
  EXPECT_EQ(DeleteValue(**store, Table::kUsers, "u").code(), StatusCode::kFailedPrecondition);
  (*store)->SetAuthenticator(std::make_shared<HmacTestAuthenticator>());
  EXPECT_OK((*store)->VerifyIntegrity());
}

TEST_F(StoreIntegrity, StaysValidThroughPutsDeletesOverwritesAndFailedWrites) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 60; ++i) {
      std::string key = "ns/" + std::to_string(i % 17);
      Table table = i % 3 == 0 ? Table::kSecureValues : Table::kUsers;
      ASSERT_OK(PutValue(*store, table, key, "value-" + std::to_string(i)));
      if (i % 5 == 4) {
        ASSERT_OK(DeleteValue(*store, table, key));
      }
    }
    ASSERT_OK(store->VerifyIntegrity());

    // A write that fails after a Put and a Delete leaves no trace in D.
    StatusOr<WriteReceipt> failed = store->Write("fails", [](WriteTxn& txn) -> Status {
      SR_RETURN_IF_ERROR(txn.Put(Table::kUsers, "ns/1", AsBytes("never")));
      SR_RETURN_IF_ERROR(txn.Put(Table::kBindings, "new", AsBytes("never")));
      SR_RETURN_IF_ERROR(txn.Delete(Table::kSecureValues, "ns/0"));
      return Status::Aborted("changed its mind");
    });
    ASSERT_FALSE(failed.has_value());
    EXPECT_OK(store->VerifyIntegrity());

    // A write that ignores its own failed Delete still commits consistently.
    ASSERT_OK(store->Write("ignores", [](WriteTxn& txn) -> Status {
      (void)txn.Delete(Table::kKeks, "absent");
      SR_RETURN_IF_ERROR(txn.Put(Table::kKeks, "kek-1", AsBytes("k")));
      SR_RETURN_IF_ERROR(txn.Put(Table::kKeks, "kek-1", AsBytes("k2")));
      return Status::Ok();
    }));
    EXPECT_OK(store->VerifyIntegrity());

    // A failing pre-commit hook discards the batch, D included.
    store->SetPreCommitHook(
        [](std::span<const StagedWrite>) { return Status::Unavailable("audit log unavailable"); });
    EXPECT_FALSE(PutValue(*store, Table::kUsers, "hooked", "v").has_value());
    EXPECT_FALSE(DeleteValue(*store, Table::kKeks, "kek-1").ok());
    store->SetPreCommitHook(nullptr);
    EXPECT_OK(store->VerifyIntegrity());

    // A kMeta-only write moves resourceVersion; the digest MAC follows.
    ASSERT_OK(
        store->Write("meta", [](WriteTxn& txn) { return txn.PutMeta("setting", AsBytes("1")); }));
    EXPECT_OK(store->VerifyIntegrity());
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  EXPECT_OK(store->VerifyIntegrity());
}

TEST_F(StoreIntegrity, DeletingEveryRecordLeavesAValidStore) {
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(PutValue(*store, Table::kTokens, "t", "row"));
  ASSERT_OK(DeleteValue(*store, Table::kTokens, "t"));
  EXPECT_OK(store->VerifyIntegrity());
}

TEST_F(StoreIntegrity, OldWholeRecordPutBackIsDetected) {
  std::string old_record;
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/db", "decrypters=[svc-old]"));
  }
  old_record = *RawStoreFile(options_.data_dir).Get("secure_values", "ns/db");
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSecureValues, "ns/db", "decrypters=[svc-new]"));
  }
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Put("secure_values", "ns/db", old_record));
  {
    // The gap this closes: the old record's own MAC verifies.
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    StatusOr<Record> served = store->BeginRead()->Get(Table::kSecureValues, "ns/db");
    ASSERT_OK(served);
    EXPECT_EQ(ValueOf(*served), "decrypters=[svc-old]");
  }
  ExpectModifiedOutside("svc-old");
}

TEST_F(StoreIntegrity, RecordRemovedInTheFileIsDetected) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kBindings, "deny/mallory", "deny-row"));
    ASSERT_OK(PutValue(*store, Table::kBindings, "allow/alice", "allow-row"));
  }
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Delete("bindings", "deny/mallory"));
  ExpectModifiedOutside("allow-row");
}

TEST_F(StoreIntegrity, DeletedRecordPutBackIsDetected) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kTokens, "tok-1", "revoked-token-row"));
  }
  std::string deleted = *RawStoreFile(options_.data_dir).Get("tokens", "tok-1");
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(DeleteValue(*store, Table::kTokens, "tok-1"));
    ASSERT_OK(store->VerifyIntegrity());
  }
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Put("tokens", "tok-1", deleted));
  ExpectModifiedOutside("revoked-token-row");
}

TEST_F(StoreIntegrity, RecordCopiedFromAnotherStoreOrKeyIsDetected) {
  TempDir other_dir;
  StoreOptions other = TestOptions(other_dir);
  {
    auto store = OpenTestStore(other);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "mallory", "role=admin"));
  }
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "alice", "role=viewer"));
  }
  // Same MAC key in both stores (the test key), so the copy verifies on its
  // own under its original key: only the digest can notice it.
  std::string copied = *RawStoreFile(other.data_dir).Get("users", "mallory");
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Put("users", "mallory", copied));
  ExpectModifiedOutside("role=admin");
  {
    // Under another key its own MAC fails, which VerifyIntegrity reports too.
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Delete("users", "mallory"));
    ASSERT_TRUE(raw.Put("users", "alice", copied));
  }
  ExpectModifiedOutside("role=admin");
}

TEST_F(StoreIntegrity, RecordMovedToAnotherKeyFailsVerification) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "alice", "role=viewer"));
    ASSERT_OK(PutValue(*store, Table::kUsers, "mallory", "role=admin"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("users", "alice", *raw.Get("users", "mallory")));
  }
  ExpectModifiedOutside("role=admin");
}

TEST_F(StoreIntegrity, EditedDigestIsDetected) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kKeks, "kek-1", "label"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    std::string digest = *raw.Get("meta", "store_digest");
    ASSERT_EQ(digest.size(), 32u);
    digest[31] ^= 0x01;
    ASSERT_TRUE(raw.Put("meta", "store_digest", digest));
  }
  ExpectModifiedOutside("label");
}

// The attacker can read every tag, so they can recompute D for their swap;
// the MAC over D (which needs the record-MAC key) is what stops that.
TEST_F(StoreIntegrity, SwapWithARecomputedDigestIsDetected) {
  std::string old_record;
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "old-password-hash"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    old_record = *raw.Get("users", "admin");
    // With a single record, D is that record's tag.
    ASSERT_EQ(*raw.Get("meta", "store_digest"), old_record.substr(old_record.size() - 32));
  }
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "new-password-hash"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("users", "admin", old_record));
    ASSERT_TRUE(raw.Put("meta", "store_digest", old_record.substr(old_record.size() - 32)));
  }
  ExpectModifiedOutside("old-password-hash");
}

// D and its MAC copied back from an earlier point, with the record, but
// resourceVersion left current: the MAC binds D to resourceVersion.
TEST_F(StoreIntegrity, OldDigestAndMacPutBackUnderANewerResourceVersionAreDetected) {
  std::string old_record, old_digest, old_mac;
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "old-row"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    old_record = *raw.Get("users", "admin");
    old_digest = *raw.Get("meta", "store_digest");
    old_mac = *raw.Get("meta", "store_digest_mac");
  }
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "new-row"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("users", "admin", old_record));
    ASSERT_TRUE(raw.Put("meta", "store_digest", old_digest));
    ASSERT_TRUE(raw.Put("meta", "store_digest_mac", old_mac));
  }
  ExpectModifiedOutside("old-row");
}

// Documents the limit: putting back the record AND every kMeta value
// (resourceVersion included) is a rollback of the whole store to an older
// consistent state. The audit log's signed checkpoints, which carry
// resourceVersion and D, catch that; VerifyIntegrity alone cannot.
TEST_F(StoreIntegrity, WholeStoreRollbackIsLeftToTheAuditCheckpoints) {
  std::string old_record, old_digest, old_mac, old_version;
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "old-row"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    old_record = *raw.Get("users", "admin");
    old_digest = *raw.Get("meta", "store_digest");
    old_mac = *raw.Get("meta", "store_digest_mac");
    old_version = *raw.Get("meta", "resource_version");
  }
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "admin", "new-row"));
  }
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Put("users", "admin", old_record));
    ASSERT_TRUE(raw.Put("meta", "store_digest", old_digest));
    ASSERT_TRUE(raw.Put("meta", "store_digest_mac", old_mac));
    ASSERT_TRUE(raw.Put("meta", "resource_version", old_version));
  }
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  EXPECT_OK(store->VerifyIntegrity());
  EXPECT_EQ(store->BeginRead()->resource_version(), 1u);
}

TEST_F(StoreIntegrity, MissingDigestOrDigestMacWithRecordsIsDetected) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kSystem, "current_kek", "kek-1"));
  }
  std::string digest = *RawStoreFile(options_.data_dir).Get("meta", "store_digest");
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Delete("meta", "store_digest_mac"));
  ExpectModifiedOutside("kek-1");
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Delete("meta", "store_digest"));
  }
  ExpectModifiedOutside("kek-1");
}

TEST_F(StoreIntegrity, EmptiedStoreWithDigestButNoMacIsDetected) {
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kUsers, "u", "user-row"));
  }
  {
    // Every record and the MAC removed, D left: D no longer matches.
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.Delete("users", "u"));
    ASSERT_TRUE(raw.Delete("meta", "store_digest_mac"));
  }
  ExpectModifiedOutside("user-row");
}

TEST_F(StoreIntegrity, TamperedRecordDeletedThroughTheStoreStillFailsVerification) {
  std::string old_record;
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kDataKeys, "dek-1", "old-wrapped"));
  }
  old_record = *RawStoreFile(options_.data_dir).Get("data_keys", "dek-1");
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(PutValue(*store, Table::kDataKeys, "dek-1", "new-wrapped"));
  }
  ASSERT_TRUE(RawStoreFile(options_.data_dir).Put("data_keys", "dek-1", old_record));
  {
    auto store = Reopen();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(DeleteValue(*store, Table::kDataKeys, "dek-1"));
  }
  // D still counts the tag Strongroom wrote: deleting does not hide it.
  ExpectModifiedOutside("old-wrapped");
}

TEST_F(StoreIntegrity, DigestKeysAreReserved) {
  auto store = Reopen();
  ASSERT_NE(store, nullptr);
  for (std::string key : {"store_digest", "store_digest_mac"}) {
    StatusOr<WriteReceipt> r = store->Write(
        "meta", [&](WriteTxn& txn) { return txn.PutMeta(key, AsBytes(std::string(32, '\0'))); });
    ASSERT_STATUS(r, StatusCode::kInvalidArgument) << key;
  }
}

}  // namespace
}  // namespace strongroom::storage

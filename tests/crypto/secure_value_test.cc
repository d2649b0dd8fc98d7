// Secure values stored through the keyring: re-encryption under current data
// keys in bounded batches, and a record whose `decrypters` is edited in the
// LMDB file is refused.
#include <gtest/gtest.h>

#include <set>

#include "storage/secure_value_record.h"
#include "tests/crypto/keyring_fixture.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

using storage::Table;

class SecureValueTest : public KeyringFixture {
 protected:
  // Stores a new secure value the way the API will: seal bound to the
  // generation the write will assign, then write if that still holds.
  void Store(const std::string& ns, const std::string& name, const std::string& value,
             const std::string& uid = "") {
    storage::SecureValueRecord r;
    r.namespace_name = ns;
    r.name = name;
    r.uid = uid.empty() ? "uid-" + ns + "-" + name : uid;
    r.description = "test";
    r.decrypters = {"svc-a"};
    auto sealed = keyring_->Seal(ValueBinding{ns, name, r.uid, 1}, AsBytes(value));
    ASSERT_OK(sealed);
    r.envelope = std::move(sealed->envelope);
    std::string key = storage::SecureValueKey(ns, name);
    auto written = store_->Write("test:create", [&](storage::WriteTxn& txn) -> Status {
      SR_ASSIGN_OR_RETURN(std::uint64_t next, txn.NextGeneration(Table::kSecureValues, key));
      if (next != 1) return Status::AlreadyExists(key);
      r.resource_version = txn.resource_version();
      return ToStatus(txn.Put(Table::kSecureValues, key, storage::EncodeSecureValueRecord(r)));
    });
    ASSERT_OK(written);
  }

  // Stored reads the stored record and its generation.
  StatusOr<std::pair<storage::SecureValueRecord, std::uint64_t>> Stored(const std::string& ns,
                                                                       const std::string& name) {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store_->BeginRead());
    SR_ASSIGN_OR_RETURN(storage::Record raw, txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, name)));
    SR_ASSIGN_OR_RETURN(storage::SecureValueRecord r, storage::DecodeSecureValueRecord(raw.value));
    return std::pair{std::move(r), raw.generation};
  }

  // Update re-seals the stored record with `value` for its next generation.
  void Update(const std::string& ns, const std::string& name, const std::string& value) {
    auto stored = Stored(ns, name);
    ASSERT_OK(stored);
    auto& [r, generation] = *stored;
    const storage::SecureValueVersion read{r.uid, generation, r.resource_version};
    auto sealed = keyring_->Seal(ValueBinding{ns, name, r.uid, generation + 1}, AsBytes(value));
    ASSERT_OK(sealed);
    r.envelope = std::move(sealed->envelope);
    auto written = store_->Write("test:update", [&](storage::WriteTxn& write) {
      return ToStatus(storage::ReplaceSecureValue(write, read, r));
    });
    ASSERT_OK(written);
  }

  void Remove(const std::string& ns, const std::string& name) {
    auto removed = store_->Write("test:delete", [&](storage::WriteTxn& txn) {
      return txn.Delete(Table::kSecureValues, storage::SecureValueKey(ns, name));
    });
    ASSERT_OK(removed);
  }

  StatusOr<std::string> Decrypt(const std::string& ns, const std::string& name) {
    SR_ASSIGN_OR_RETURN(auto stored, Stored(ns, name));
    const auto& [r, generation] = stored;
    SR_ASSIGN_OR_RETURN(SecretBytes plain, keyring_->Unseal(ValueBinding{ns, name, r.uid, generation}, r.envelope));
    return std::string(plain.RevealSecretAsString());
  }
};

TEST_F(SecureValueTest, ReencryptSecretsMovesEveryValueToCurrentKeysInBoundedBatches) {
  for (int i = 0; i < 250; ++i) Store(i % 2 ? "a" : "b", "s" + std::to_string(i), "value-" + std::to_string(i));
  auto nothing = keyring_->ReencryptSecrets(64);
  ASSERT_OK(nothing);
  EXPECT_EQ(nothing->already_current, 250u);
  EXPECT_EQ(nothing->reencrypted, 0u);

  ASSERT_OK(keyring_->RotateDataKeys());
  auto report = keyring_->ReencryptSecrets(64);
  ASSERT_OK(report);
  EXPECT_EQ(report->scanned, 250u);
  EXPECT_EQ(report->reencrypted, 250u);
  EXPECT_EQ(report->batches, 4u);  // 64 + 64 + 64 + 58
  auto keys = *keyring_->ListDataKeys();
  std::set<std::string> active;
  for (const auto& k : keys) if (k.active) active.insert(k.id);
  EXPECT_EQ(active.size(), 2u);
  auto txn = store_->BeginRead();
  ASSERT_OK(txn);
  std::size_t under_active = 0;
  ASSERT_OK(
      txn->Scan(Table::kSecureValues, "", "", [&](std::string_view, const storage::Record& r) {
        auto rec = storage::DecodeSecureValueRecord(r.value);
        under_active += active.contains(ParseEnvelope(rec->envelope)->data_key_id) ? 1 : 0;
        EXPECT_EQ(r.generation, 2u);
        return true;
      }));
  EXPECT_EQ(under_active, 250u);
  for (int i = 0; i < 250; ++i) {
    auto v = Decrypt(i % 2 ? "a" : "b", "s" + std::to_string(i));
    ASSERT_OK(v);
    EXPECT_EQ(*v, "value-" + std::to_string(i));
  }
}

TEST_F(SecureValueTest, ReencryptSecretsLeavesASecretDeletedAndCreatedAgainMeanwhileAlone) {
  Store("a", "db", "old value", "uid-old");
  Update("a", "db", "old value 2");  // generation 2
  ASSERT_OK(keyring_->RotateDataKeys());
  // Between re-encryption's read and its write, the name is deleted and
  // created again (a new uid) and updated until it is back at generation 2.
  bool changed = false;
  options_.before_reencrypt_write = [&] {
    if (changed) return;
    changed = true;
    Remove("a", "db");
    Store("a", "db", "new value", "uid-new");
    Update("a", "db", "new value 2");
  };
  OpenKeyring();
  auto report = keyring_->ReencryptSecrets(10);
  ASSERT_OK(report);
  ASSERT_TRUE(changed);
  EXPECT_EQ(report->reencrypted, 0u);
  EXPECT_EQ(report->changed_concurrently, 1u);
  auto stored = Stored("a", "db");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->first.uid, "uid-new");
  EXPECT_EQ(stored->second, 2u);
  auto value = Decrypt("a", "db");
  ASSERT_OK(value);
  EXPECT_TRUE(*value == "new value 2") << "the recreated secret lost its value";
}

TEST_F(SecureValueTest, AddingANameToDecryptersInTheFileMakesTheNextReadFail) {
  Store("a", "db", "value");
  ASSERT_OK(Decrypt("a", "db"));
  keyring_.reset();
  store_.reset();
  {
    storage::testing::RawStoreFile raw(data_dir_.path());
    ASSERT_TRUE(raw.ok());
    std::string key = storage::SecureValueKey("a", "db");
    std::optional<std::string> bytes = raw.Get("secure_values", key);
    ASSERT_TRUE(bytes.has_value());
    // The attacker renames the allowed decrypter "svc-a" to "evil!".
    std::size_t at = bytes->find("svc-a");
    ASSERT_NE(at, std::string::npos);
    bytes->replace(at, 5, "evil!");
    ASSERT_TRUE(raw.Put("secure_values", key, *bytes));
  }
  OpenStore();
  auto refused = Keyring::Open(*service_, *store_, options_);
  ASSERT_STATUS(refused, StatusCode::kIntegrityError);
  options_.verify_store_at_open = false;
  OpenKeyring();
  auto read = Decrypt("a", "db");
  ASSERT_STATUS(read, StatusCode::kIntegrityError);
}

TEST_F(SecureValueTest, AnOldWholeRecordPutBackIsRefusedAtOpen) {
  Store("a", "db", "value");
  std::string key = storage::SecureValueKey("a", "db");
  keyring_.reset();
  store_.reset();
  std::optional<std::string> old_bytes =
      storage::testing::RawStoreFile(data_dir_.path()).Get("secure_values", key);
  ASSERT_TRUE(old_bytes.has_value());
  // The owner narrows the allowlist to nobody...
  OpenStore();
  OpenKeyring();
  auto narrowed = store_->Write("test:narrow", [&](storage::WriteTxn& txn) -> Status {
    SR_ASSIGN_OR_RETURN(storage::Record r, txn.Get(Table::kSecureValues, key));
    SR_ASSIGN_OR_RETURN(storage::SecureValueRecord rec, storage::DecodeSecureValueRecord(r.value));
    rec.decrypters.clear();
    return ToStatus(txn.Put(Table::kSecureValues, key, storage::EncodeSecureValueRecord(rec)));
  });
  ASSERT_OK(narrowed);
  keyring_.reset();
  store_.reset();
  // ...and an attacker puts the old record (with its valid old MAC) back.
  ASSERT_TRUE(storage::testing::RawStoreFile(data_dir_.path()).Put("secure_values", key, *old_bytes));
  OpenStore();
  auto refused = Keyring::Open(*service_, *store_, options_);
  ASSERT_STATUS(refused, StatusCode::kIntegrityError);
  EXPECT_NE(refused.error().message().find("modified outside Strongroom"), std::string::npos);
}

}  // namespace
}  // namespace strongroom::crypto

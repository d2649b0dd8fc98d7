// Secure values stored through the keyring: re-encryption under current data
// keys in bounded batches, and a record whose `decrypters` is edited in the
// LMDB file is refused.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <functional>
#include <set>

#include "storage/secure_value_record.h"
#include "tests/crypto/keyring_fixture.h"

namespace strongroom::crypto {
namespace {

using storage::Table;

class SecureValueTest : public KeyringFixture {
 protected:
  // Stores a new secure value the way the API will: seal bound to the
  // generation the write will assign, then write if that still holds.
  void Store(const std::string& ns, const std::string& name, const std::string& value) {
    storage::SecureValueRecord r;
    r.namespace_name = ns;
    r.name = name;
    r.uid = "uid-" + ns + "-" + name;
    r.description = "test";
    r.decrypters = {"svc-a"};
    auto sealed = keyring_->Seal(ValueBinding{ns, name, r.uid, 1}, AsBytes(value));
    ASSERT_TRUE(sealed.has_value()) << sealed.error();
    r.envelope = std::move(sealed->envelope);
    std::string key = storage::SecureValueKey(ns, name);
    auto written = store_->Write("test:create", [&](storage::WriteTxn& txn) -> Status {
      SR_ASSIGN_OR_RETURN(std::uint64_t next, txn.NextGeneration(Table::kSecureValues, key));
      if (next != 1) return Status::AlreadyExists(key);
      r.resource_version = txn.resource_version();
      return ToStatus(txn.Put(Table::kSecureValues, key, storage::EncodeSecureValueRecord(r)));
    });
    ASSERT_TRUE(written.has_value()) << written.error();
  }

  StatusOr<std::string> Decrypt(const std::string& ns, const std::string& name) {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store_->BeginRead());
    SR_ASSIGN_OR_RETURN(storage::Record raw, txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, name)));
    SR_ASSIGN_OR_RETURN(storage::SecureValueRecord r, storage::DecodeSecureValueRecord(raw.value));
    SR_ASSIGN_OR_RETURN(SecretBytes plain, keyring_->Unseal(ValueBinding{ns, name, r.uid, raw.generation}, r.envelope));
    return std::string(plain.RevealSecretAsString());
  }
};

TEST_F(SecureValueTest, ReencryptSecretsMovesEveryValueToCurrentKeysInBoundedBatches) {
  for (int i = 0; i < 250; ++i) Store(i % 2 ? "a" : "b", "s" + std::to_string(i), "value-" + std::to_string(i));
  auto nothing = keyring_->ReencryptSecrets(64);
  ASSERT_TRUE(nothing.has_value()) << nothing.error();
  EXPECT_EQ(nothing->already_current, 250u);
  EXPECT_EQ(nothing->reencrypted, 0u);

  ASSERT_TRUE(keyring_->RotateDataKeys().has_value());
  auto report = keyring_->ReencryptSecrets(64);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->scanned, 250u);
  EXPECT_EQ(report->reencrypted, 250u);
  EXPECT_EQ(report->batches, 4u);  // 64 + 64 + 64 + 58
  auto keys = *keyring_->ListDataKeys();
  std::set<std::string> active;
  for (const auto& k : keys) if (k.active) active.insert(k.id);
  EXPECT_EQ(active.size(), 2u);
  auto txn = store_->BeginRead();
  ASSERT_TRUE(txn.has_value());
  std::size_t under_active = 0;
  ASSERT_TRUE(txn->Scan(Table::kSecureValues, "", "", [&](std::string_view, const storage::Record& r) {
    auto rec = storage::DecodeSecureValueRecord(r.value);
    under_active += active.contains(ParseEnvelope(rec->envelope)->data_key_id) ? 1 : 0;
    EXPECT_EQ(r.generation, 2u);
    return true;
  }).ok());
  EXPECT_EQ(under_active, 250u);
  for (int i = 0; i < 250; ++i) {
    auto v = Decrypt(i % 2 ? "a" : "b", "s" + std::to_string(i));
    ASSERT_TRUE(v.has_value()) << v.error();
    EXPECT_EQ(*v, "value-" + std::to_string(i));
  }
}

TEST_F(SecureValueTest, AddingANameToDecryptersInTheFileMakesTheNextReadFail) {
  Store("a", "db", "value");
  ASSERT_TRUE(Decrypt("a", "db").has_value());
  keyring_.reset();
  store_.reset();
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    ASSERT_EQ(mdb_env_open(env, data_dir_.Join("store").c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "secure_values", 0, &dbi), 0);
    std::string key = storage::SecureValueKey("a", "db");
    MDB_val k{key.size(), key.data()}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string bytes(static_cast<char*>(v.mv_data), v.mv_size);
    // The attacker renames the allowed decrypter "svc-a" to "evil!".
    std::size_t at = bytes.find("svc-a");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 5, "evil!");
    MDB_val edited{bytes.size(), bytes.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &edited, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  OpenStore();
  auto refused = Keyring::Open(*token_, *store_, options_);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kIntegrityError) << refused.error();
  options_.verify_store_at_open = false;
  OpenKeyring();
  auto read = Decrypt("a", "db");
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code(), StatusCode::kIntegrityError) << read.error();
}

TEST_F(SecureValueTest, AnOldWholeRecordPutBackIsRefusedAtOpen) {
  Store("a", "db", "value");
  std::string key = storage::SecureValueKey("a", "db");
  auto raw_value = [&](MDB_env* env, std::string* out, const std::string* put) {
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, put ? 0 : MDB_RDONLY, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "secure_values", 0, &dbi), 0);
    MDB_val k{key.size(), key.data()}, v;
    if (put != nullptr) {
      MDB_val nv{put->size(), const_cast<char*>(put->data())};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
      ASSERT_EQ(mdb_txn_commit(txn), 0);
    } else {
      ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
      out->assign(static_cast<char*>(v.mv_data), v.mv_size);
      mdb_txn_abort(txn);
    }
  };
  auto with_env = [&](const std::function<void(MDB_env*)>& fn) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    ASSERT_EQ(mdb_env_open(env, data_dir_.Join("store").c_str(), 0, 0600), 0);
    fn(env);
    mdb_env_close(env);
  };
  keyring_.reset();
  store_.reset();
  std::string old_bytes;
  with_env([&](MDB_env* env) { raw_value(env, &old_bytes, nullptr); });
  ASSERT_FALSE(old_bytes.empty());
  // The owner narrows the allowlist to nobody...
  OpenStore();
  OpenKeyring();
  auto narrowed = store_->Write("test:narrow", [&](storage::WriteTxn& txn) -> Status {
    SR_ASSIGN_OR_RETURN(storage::Record r, txn.Get(Table::kSecureValues, key));
    SR_ASSIGN_OR_RETURN(storage::SecureValueRecord rec, storage::DecodeSecureValueRecord(r.value));
    rec.decrypters.clear();
    return ToStatus(txn.Put(Table::kSecureValues, key, storage::EncodeSecureValueRecord(rec)));
  });
  ASSERT_TRUE(narrowed.has_value()) << narrowed.error();
  keyring_.reset();
  store_.reset();
  // ...and an attacker puts the old record (with its valid old MAC) back.
  with_env([&](MDB_env* env) { raw_value(env, nullptr, &old_bytes); });
  OpenStore();
  auto refused = Keyring::Open(*token_, *store_, options_);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kIntegrityError) << refused.error();
  EXPECT_NE(refused.error().message().find("modified outside Strongroom"), std::string::npos);
}

}  // namespace
}  // namespace strongroom::crypto

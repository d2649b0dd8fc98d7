// The key hierarchy end to end: token -> KEK -> data keys -> envelopes, with
// a real SoftHSM token and a real LMDB store.
#include "crypto/keyring.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "crypto/data_key_record.h"
#include "crypto/kek.h"
#include "crypto/keyring_store.h"
#include "tests/crypto/keyring_fixture.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/fault_module.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

using testing_support::ReadFileBytes;

struct Sealed {
  std::string ns, name, uid;
  std::uint64_t generation;
  std::string plaintext;
  Bytes envelope;
  ValueBinding binding() const { return ValueBinding{ns, name, uid, generation}; }
};

class KeyringTest : public KeyringFixture {
 protected:
  Sealed SealOne(std::string ns, std::string name, std::string plaintext, std::uint64_t generation = 1) {
    Sealed s{std::move(ns), std::move(name), "uid-" + std::to_string(++uid_counter_), generation,
             std::move(plaintext), {}};
    auto sealed = keyring_->Seal(s.binding(), AsBytes(s.plaintext));
    EXPECT_OK(sealed);
    if (sealed.has_value()) s.envelope = std::move(sealed->envelope);
    return s;
  }
  void ExpectOpens(const Sealed& s) {
    auto opened = keyring_->Unseal(s.binding(), s.envelope);
    ASSERT_OK(opened);
    EXPECT_EQ(opened->RevealSecretAsString(), s.plaintext);
  }
  std::size_t ActiveKeys() {
    std::size_t n = 0;
    auto keys = *keyring_->ListDataKeys();
    for (const auto& k : keys) n += k.active ? 1 : 0;
    return n;
  }
  int uid_counter_ = 0;
};

TEST_F(KeyringTest, InitializeIsIdempotentAndCreatesKeysOnce) {
  auto again = Keyring::Initialize(*service_, *store_, &clock_);
  ASSERT_OK(again);
  EXPECT_FALSE(again->created_kek);
  EXPECT_FALSE(again->created_mac_key);
  EXPECT_FALSE(again->created_audit_key);
  EXPECT_EQ(again->kek_id, keyring_->current_kek_id());
  EXPECT_EQ(ListKekIds(*token_)->size(), 1u);
}

TEST_F(KeyringTest, EnvelopesAreBoundToTheirRecord) {
  Sealed s = SealOne("team-a", "db-password", "s3cr3t value");
  ExpectOpens(s);
  Sealed moved = s;
  moved.name = "other";
  EXPECT_STATUS(keyring_->Unseal(moved.binding(), s.envelope), StatusCode::kIntegrityError);
  moved = s;
  moved.ns = "team-b";
  EXPECT_STATUS(keyring_->Unseal(moved.binding(), s.envelope), StatusCode::kIntegrityError);
  // An older value of the same record put back fails under the newer generation.
  Sealed v2 = s;
  v2.generation = 2;
  EXPECT_STATUS(keyring_->Unseal(v2.binding(), s.envelope), StatusCode::kIntegrityError);
}

TEST_F(KeyringTest, CrossingUtcMidnightCreatesANewDataKeyPerNamespace) {
  Sealed a1 = SealOne("a", "x", "one");
  Sealed b1 = SealOne("b", "x", "two");
  Sealed a1b = SealOne("a", "y", "three");
  EXPECT_EQ(keyring_->ListDataKeys()->size(), 2u);
  clock_.Advance(std::chrono::seconds(2));  // 2026-11-24T00:00:01Z
  Sealed a2 = SealOne("a", "x", "four");
  Sealed b2 = SealOne("b", "x", "five");
  auto keys = *keyring_->ListDataKeys();
  ASSERT_EQ(keys.size(), 4u);
  std::map<std::string, std::set<std::string>> days;
  for (const auto& k : keys) {
    days[k.namespace_name].insert(k.day);
    EXPECT_EQ(k.active, k.day == "2026-11-24") << k.id;
  }
  EXPECT_EQ(days["a"], (std::set<std::string>{"2026-11-23", "2026-11-24"}));
  EXPECT_EQ(days["b"], (std::set<std::string>{"2026-11-23", "2026-11-24"}));
  for (const Sealed* s : {&a1, &b1, &a1b, &a2, &b2}) ExpectOpens(*s);
}

TEST_F(KeyringTest, RotateDataKeysUsesANewKeyNextAndOldCiphertextsStillOpen) {
  Sealed before = SealOne("a", "x", "old value");
  std::string old_id = ParseEnvelope(before.envelope)->data_key_id;
  StatusOr<std::size_t> rotated = keyring_->RotateDataKeys();
  ASSERT_OK(rotated);
  EXPECT_EQ(*rotated, 1u);
  EXPECT_EQ(ActiveKeys(), 0u);
  Sealed after = SealOne("a", "x", "new value");
  EXPECT_NE(ParseEnvelope(after.envelope)->data_key_id, old_id);
  EXPECT_EQ(ActiveKeys(), 1u);
  ExpectOpens(before);
  ExpectOpens(after);
  OpenKeyring();  // cold cache: both unwrap from the store
  ExpectOpens(before);
  ExpectOpens(after);
}

TEST_F(KeyringTest, KekRotationRewrapsEveryDataKeyAndEverythingStillDecrypts) {
  std::vector<Sealed> sealed;
  for (int i = 0; i < 5; ++i) sealed.push_back(SealOne("ns" + std::to_string(i), "v", "value " + std::to_string(i)));
  std::string old_kek = keyring_->current_kek_id();
  auto report = keyring_->RotateKek();
  ASSERT_OK(report);
  EXPECT_EQ(report->old_kek_id, old_kek);
  EXPECT_NE(report->new_kek_id, old_kek);
  EXPECT_EQ(report->rewrap.rewrapped, 5u);
  EXPECT_EQ(report->unreferenced_kek_ids, std::vector<std::string>{old_kek});
  auto keys = *keyring_->ListDataKeys();
  for (const auto& k : keys) EXPECT_EQ(k.kek_id, report->new_kek_id);
  EXPECT_TRUE(*KekExists(*token_, old_kek));  // never destroyed automatically
  OpenKeyring();  // the MAC key was re-wrapped too: reopening works
  EXPECT_EQ(keyring_->current_kek_id(), report->new_kek_id);
  for (const Sealed& s : sealed) ExpectOpens(s);
  // The old KEK is no longer needed: a copy of the store opens without it.
  auto rewrap_again = keyring_->RewrapDataKeys();
  ASSERT_OK(rewrap_again);
  EXPECT_EQ(rewrap_again->rewrapped, 0u);
  EXPECT_EQ(rewrap_again->already_current, 5u);
}

TEST_F(KeyringTest, ADataKeyIsRetiredBeforeItsEncryptionLimitAndCountersSurviveRestart) {
  options_.counter_block = 4;
  options_.max_encryptions_per_data_key = 10;
  OpenKeyring();
  std::set<std::string> ids;
  std::vector<Sealed> sealed;
  for (int i = 0; i < 25; ++i) {
    sealed.push_back(SealOne("a", "v" + std::to_string(i), "x"));
    ids.insert(ParseEnvelope(sealed.back().envelope)->data_key_id);
    if (i == 5) OpenKeyring();  // a restart wastes the rest of the block, never reuses it
  }
  // 6 encryptions, restart (block of 4 wasted down to 8 reserved), ...
  EXPECT_GE(ids.size(), 3u);
  auto keys = *keyring_->ListDataKeys();
  for (const auto& k : keys) EXPECT_LE(k.reserved_encryptions, 10u) << k.id;
  for (const Sealed& s : sealed) ExpectOpens(s);
}

TEST_F(KeyringTest, ADataKeyRowEditedInTheFileIsRefusedWithAnIntegrityError) {
  Sealed s = SealOne("a", "x", "value");
  std::string id = ParseEnvelope(s.envelope)->data_key_id;
  keyring_.reset();
  store_.reset();
  {
    storage::testing::RawStoreFile raw(data_dir_.path());
    ASSERT_TRUE(raw.ok());
    std::optional<std::string> bytes = raw.Get("data_keys", id);
    ASSERT_TRUE(bytes.has_value());
    // Point the row at another namespace: the MAC no longer matches.
    std::size_t at = bytes->find("\x00\x01" "a", 0);
    ASSERT_NE(at, std::string::npos);
    (*bytes)[at + 2] = 'b';
    ASSERT_TRUE(raw.Put("data_keys", id, *bytes));
  }
  OpenStore();
  // Opening verifies the whole store and refuses it...
  auto refused = Keyring::Open(*service_, *store_, options_);
  ASSERT_STATUS(refused, StatusCode::kIntegrityError);
  // ...and without that scan the edited row is refused when read.
  options_.verify_store_at_open = false;
  OpenKeyring();
  auto opened = keyring_->Unseal(s.binding(), s.envelope);
  ASSERT_STATUS(opened, StatusCode::kIntegrityError);
}

TEST_F(KeyringTest, NoPlaintextKeyOrValueAppearsInTheStoreFiles) {
  std::vector<Sealed> sealed;
  for (int i = 0; i < 20; ++i) {
    sealed.push_back(SealOne("ns" + std::to_string(i % 3), "v" + std::to_string(i),
                             "PLAINTEXT-MARKER-" + std::to_string(i) + "-correct horse battery"));
  }
  clock_.Advance(std::chrono::hours(24));
  sealed.push_back(SealOne("ns0", "tomorrow", "PLAINTEXT-MARKER-tomorrow"));
  // Recover every plaintext key through the token, to search for it.
  std::vector<SecretBytes> keys;
  {
    auto txn = store_->BeginRead();
    ASSERT_OK(txn);
    auto infos = *keyring_->ListDataKeys();
    for (const auto& info : infos) {
      auto row = txn->Get(storage::Table::kDataKeys, info.id);
      ASSERT_OK(row);
      auto record = DecodeDataKeyRecord(row->value);
      ASSERT_OK(record);
      auto key = UnwrapKey(*token_, record->kek_id, record->wrapped, WrappedKeyType::kAes256);
      ASSERT_OK(key);
      keys.push_back(std::move(*key));
    }
    auto mac = ReadWrappedMacKey(*store_);
    ASSERT_OK(mac);
    ASSERT_TRUE(mac->has_value());
    auto mac_key = UnwrapKey(*token_, (*mac)->kek_id, (*mac)->wrapped, WrappedKeyType::kHmacSha256);
    ASSERT_OK(mac_key);
    keys.push_back(std::move(*mac_key));
  }
  ASSERT_EQ(keys.size(), 5u);  // 3 data keys on day one, 1 on day two, the MAC key
  keyring_.reset();
  store_.reset();
  std::string raw = ReadFileBytes(StoreFile());
  ASSERT_GT(raw.size(), 4096u);
  EXPECT_EQ(raw.find("PLAINTEXT-MARKER"), std::string::npos);
  EXPECT_EQ(raw.find("correct horse"), std::string::npos);
  for (const SecretBytes& key : keys) {
    EXPECT_EQ(raw.find(key.RevealSecretAsString()), std::string::npos) << "a plaintext key is in the file";
    // Also no 8-byte window of a key (a partial leak).
    EXPECT_EQ(raw.find(key.RevealSecretAsString().substr(8, 8)), std::string::npos);
  }
}

}  // namespace
}  // namespace strongroom::crypto

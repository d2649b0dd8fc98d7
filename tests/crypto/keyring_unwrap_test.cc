// The data-key cache: a cold keyring decrypting many envelopes unwraps each
// data key through the token once. Counted twice: by the keyring and by the
// fault-injecting module that sits between us and SoftHSM.
#include <gtest/gtest.h>

#include <set>

#include "tests/crypto/keyring_fixture.h"
#include "tests/support/fault_module.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

class KeyringUnwrapTest : public KeyringFixture {
 protected:
  KeyringUnwrapTest() : KeyringFixture(/*through_fault_module=*/true) {}
};

TEST_F(KeyringUnwrapTest, HundredThousandEnvelopesOverTenDataKeysUnwrapAtMostTenTimes) {
  constexpr int kNamespaces = 10, kPerNamespace = 10000;
  std::vector<Bytes> envelopes;
  envelopes.reserve(kNamespaces * kPerNamespace);
  std::string value(64, 'v');
  for (int n = 0; n < kNamespaces; ++n) {
    std::string ns = "ns" + std::to_string(n);
    for (int i = 0; i < kPerNamespace; ++i) {
      std::string name = "s" + std::to_string(i);
      auto sealed = keyring_->Seal(ValueBinding{ns, name, name, 1}, AsBytes(value));
      ASSERT_OK(sealed);
      envelopes.push_back(std::move(sealed->envelope));
    }
  }
  ASSERT_EQ(keyring_->ListDataKeys()->size(), 10u);
  OpenKeyring();  // cold cache
  auto fault = testing_support::FaultModule::Attach();
  ASSERT_OK(fault);
  fault->ResetCounts();
  std::size_t opened = 0;
  for (int n = 0; n < kNamespaces; ++n) {
    std::string ns = "ns" + std::to_string(n);
    for (int i = 0; i < kPerNamespace; ++i) {
      std::string name = "s" + std::to_string(i);
      auto plain = keyring_->Unseal(ValueBinding{ns, name, name, 1}, envelopes[n * kPerNamespace + i]);
      ASSERT_OK(plain);
      opened += plain->RevealSecretAsString() == value ? 1 : 0;
    }
  }
  EXPECT_EQ(opened, 100000u);
  EXPECT_EQ(keyring_->counters().unwraps, 10u);
  EXPECT_LE(fault->Calls("C_UnwrapKey"), 10u);
  EXPECT_GE(fault->Calls("C_UnwrapKey"), 10u);
}

TEST_F(KeyringUnwrapTest, WhileTheTokenIsGoneCachedKeysStillDecryptAndNewOnesFailTyped) {
  auto a = keyring_->Seal(ValueBinding{"a", "x", "u1", 1}, AsBytes(std::string("va")));
  auto b = keyring_->Seal(ValueBinding{"b", "x", "u2", 1}, AsBytes(std::string("vb")));
  ASSERT_OK(a);
  ASSERT_OK(b);
  OpenKeyring();
  ASSERT_OK(keyring_->Unseal(ValueBinding{"a", "x", "u1", 1}, a->envelope));
  auto fault = testing_support::FaultModule::Attach();
  ASSERT_OK(fault);
  fault->SetFault(CKR_DEVICE_REMOVED);
  EXPECT_OK(keyring_->Unseal(ValueBinding{"a", "x", "u1", 1}, a->envelope));
  auto denied = keyring_->Unseal(ValueBinding{"b", "x", "u2", 1}, b->envelope);
  ASSERT_STATUS(denied, StatusCode::kTokenUnavailable);
  auto new_key = keyring_->Seal(ValueBinding{"c", "x", "u3", 1}, AsBytes(std::string("vc")));
  ASSERT_STATUS(new_key, StatusCode::kTokenUnavailable);
  fault->ClearFault();
  EXPECT_OK(keyring_->Unseal(ValueBinding{"b", "x", "u2", 1}, b->envelope));
  EXPECT_OK(keyring_->Seal(ValueBinding{"c", "x", "u3", 1}, AsBytes(std::string("vc"))));
}

// The decrypt pipeline's two steps (api/decrypt): on an I/O thread the
// envelope is parsed once and opened only from the cache; on the pool the
// missing key is loaded, and the same parse then opens.
TEST_F(KeyringUnwrapTest, ALoadedKeyOpensAnEnvelopeParsedOnceWithOneMissAndOneUnwrap) {
  auto sealed = keyring_->Seal(ValueBinding{"a", "x", "u1", 1}, AsBytes(std::string("va")));
  ASSERT_OK(sealed);
  OpenKeyring();  // cold cache
  auto view = ParseEnvelopeView(sealed->envelope);
  ASSERT_OK(view);
  EXPECT_EQ(view->data_key_id, sealed->data_key_id);
  const ValueBinding binding{"a", "x", "u1", 1};

  auto cold = keyring_->UnsealIfCached(binding, *view);
  ASSERT_OK(cold);
  EXPECT_FALSE(cold->has_value()) << "not cached: nothing opened";
  EXPECT_EQ(keyring_->counters().cache_misses, 1u);

  ASSERT_OK(keyring_->LoadDataKey(view->data_key_id));
  ASSERT_OK(keyring_->LoadDataKey(view->data_key_id)) << "loaded already: nothing to do";
  EXPECT_EQ(keyring_->counters().unwraps, 1u);
  EXPECT_EQ(keyring_->counters().cache_misses, 1u) << "a load is not a lookup";

  auto warm = keyring_->UnsealIfCached(binding, *view);
  ASSERT_OK(warm);
  ASSERT_TRUE(warm->has_value());
  EXPECT_EQ((*warm)->RevealSecretAsString(), "va");
  EXPECT_EQ(keyring_->counters().cache_hits, 1u);

  // The parsed view is bound like the bytes: another record's binding fails.
  auto moved = keyring_->UnsealIfCached(ValueBinding{"a", "y", "u1", 1}, *view);
  ASSERT_STATUS(moved, StatusCode::kIntegrityError);
  EXPECT_FALSE(keyring_->LoadDataKey("dek-missing").ok()) << "no such data key";
}

}  // namespace
}  // namespace strongroom::crypto

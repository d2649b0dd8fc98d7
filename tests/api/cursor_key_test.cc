// `continue` cursors valid on every node (issue 18): the codec's key is
// derived from the record-MAC key (crypto::Keyring::DeriveKey, HKDF-SHA256,
// info ListCursorCodec::kKeyInfo), so two keyrings on the same token and
// store (two nodes, or one server before and after a restart) accept each
// other's cursors, while a cursor made under another token's key, or
// tampered with, is refused. Real SoftHSM tokens and LMDB stores.
#include <gtest/gtest.h>

#include "api/wire/list_cursor.h"
#include "tests/crypto/keyring_fixture.h"

namespace strongroom::crypto {
namespace {

using api::ListCursorCodec;

class CursorKeyTest : public KeyringFixture {
 protected:
  static ListCursorCodec CodecOf(const Keyring& keyring) {
    StatusOr<SecretBytes> key = keyring.DeriveKey(ListCursorCodec::kKeyInfo);
    EXPECT_OK(key);
    if (!key.has_value()) return *ListCursorCodec::Create();
    EXPECT_EQ(key->size(), 32u);
    StatusOr<ListCursorCodec> codec = ListCursorCodec::WithKey(std::move(*key));
    EXPECT_OK(codec);
    return std::move(*codec);
  }
};

TEST_F(CursorKeyTest, TwoKeyringsOnTheSameTokenAndStoreAcceptEachOthersCursors) {
  auto second = Keyring::Open(*service_, *store_, options_);  // another node's keyring
  ASSERT_OK(second);
  ListCursorCodec node_a = CodecOf(*keyring_);
  ListCursorCodec node_b = CodecOf(**second);
  const std::string from_a = node_a.Encode("securevalues", "prod", "db-password");
  const std::string from_b = node_b.Encode("securevalues", "prod", "db-password");
  EXPECT_EQ(from_a, from_b) << "the same key gives the same token";
  EXPECT_EQ(node_b.Decode(from_a, "securevalues", "prod").value_or(""), "db-password");
  EXPECT_EQ(node_a.Decode(from_b, "securevalues", "prod").value_or(""), "db-password");
  // A restart (a keyring opened again) keeps them valid too.
  OpenKeyring();
  EXPECT_EQ(CodecOf(*keyring_).Decode(from_a, "securevalues", "prod").value_or(""), "db-password");
}

TEST_F(CursorKeyTest, ATamperedCursorIsRefusedOnTheOtherNode) {
  auto second = Keyring::Open(*service_, *store_, options_);
  ASSERT_OK(second);
  std::string token = CodecOf(*keyring_).Encode("securevalues", "prod", "db-password");
  char& middle = token[token.size() / 2];
  middle = middle == 'A' ? 'B' : 'A';
  auto decoded = CodecOf(**second).Decode(token, "securevalues", "prod");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code(), StatusCode::kInvalidArgument);  // 400 at the API edge
}

TEST_F(CursorKeyTest, ACursorMadeUnderAnotherTokensKeyIsRefused) {
  // Another appliance: its own token, store and record-MAC key.
  testing_support::TestToken other_token;
  testing_support::TempDir other_dir;
  auto token = Token::Open(TokenOptionsFor(other_token));
  ASSERT_OK(token);
  LocalTokenService service(**token);
  storage::StoreOptions store_options;
  store_options.data_dir = other_dir.path();
  store_options.map_size_bytes = 64u << 20;
  auto store = storage::Store::Open(store_options);
  ASSERT_OK(store);
  ASSERT_OK(Keyring::Initialize(service, **store, &clock_));
  auto other = Keyring::Open(service, **store, options_);
  ASSERT_OK(other);
  const std::string foreign = CodecOf(**other).Encode("securevalues", "prod", "db-password");
  auto decoded = CodecOf(*keyring_).Decode(foreign, "securevalues", "prod");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code(), StatusCode::kInvalidArgument);
  other->reset();
  store->reset();
}

TEST_F(CursorKeyTest, DerivedKeysDependOnThePurpose) {
  auto cursor = keyring_->DeriveKey(ListCursorCodec::kKeyInfo);
  auto other = keyring_->DeriveKey("strongroom another purpose v1");
  ASSERT_OK(cursor);
  ASSERT_OK(other);
  EXPECT_FALSE(cursor->ConstantTimeEquals(*other));
  EXPECT_FALSE(keyring_->DeriveKey("").has_value()) << "a purpose is required";
  EXPECT_FALSE(ListCursorCodec::WithKey(*SecretBytes::Allocate(16)).has_value());
}

}  // namespace
}  // namespace strongroom::crypto

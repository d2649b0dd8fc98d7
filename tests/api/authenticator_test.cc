// Authenticator (api/auth/authenticator.h) with a real store (LMDB in a temp
// dir): an API token is refused when a record it depends on cannot be
// trusted, never accepted as if the record were absent.
#include "api/auth/authenticator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "accounts/accounts.h"
#include "tests/storage/storage_test_util.h"

namespace strongroom::api {
namespace {

using storage::testing::OpenTestStore;
using storage::testing::RawStoreFile;
using storage::testing::TestOptions;

// TokenStore holds a store with one user, one Viewer token of that user
// and a stored api-tokens-valid-after row older than the token.
class TokenStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Join("policy"));
    std::ofstream(dir_.Join("policy") + "/bindings.json") << R"({"bindings": []})";
    ASSERT_TRUE(policy_.Load().ok());
    options_ = TestOptions(dir_);
    std::unique_ptr<storage::Store> store = OpenTestStore(options_);
    ASSERT_NE(store, nullptr);
    StatusOr<SecretBytes> password = SecretBytes::CopyFrom("correct horse battery");
    ASSERT_TRUE(password.has_value());
    ASSERT_TRUE(
        accounts::CreateUser(*store, {"alice", "Alice", "", &*password}, clock_).has_value());
    clock_.Advance(std::chrono::seconds(1));
    StatusOr<accounts::IssuedToken> issued = accounts::CreateToken(
        *store, *policy_.Get(), {"alice", "Viewer", "default", "test"}, clock_);
    ASSERT_TRUE(issued.has_value()) << issued.error().message();
    token_ = std::string(issued->token.RevealSecretAsString());
    ByteWriter cutoff;
    cutoff.U64(static_cast<std::uint64_t>(UnixMicros(clock_.Now()) - 500000));
    auto put_cutoff = [&](storage::WriteTxn& txn) -> Status {
      StatusOr<std::uint64_t> put =
          txn.Put(storage::Table::kSystem, accounts::kTokensValidAfterKey, cutoff.bytes());
      return put.has_value() ? Status::Ok() : put.error();
    };
    ASSERT_TRUE(store->Write("test:cutoff", put_cutoff).has_value());
  }

  // Present authenticates `token_` as a Bearer token against `store`.
  StatusOr<Principal> Present(storage::Store& store) {
    StatusOr<std::unique_ptr<Authenticator>> authenticator =
        Authenticator::Create(store, policy_, clock_);
    EXPECT_TRUE(authenticator.has_value());
    if (!authenticator.has_value()) return std::unexpected(authenticator.error());
    HttpRequest request;
    request.peer = std::make_shared<const PeerInfo>(PeerInfo{1, "192.0.2.1:4000", std::nullopt});
    request.message.headers().addRaw(
        Pistache::Http::Header::Raw("Authorization", "Bearer " + token_));
    StatusOr<storage::ReadTxn> txn = store.BeginRead();
    EXPECT_TRUE(txn.has_value());
    if (!txn.has_value()) return std::unexpected(txn.error());
    return (*authenticator)->Authenticate(request, *txn);
  }

  testing_support::TempDir dir_;
  PolicyHolder policy_{dir_.Join("policy")};
  ManualClock clock_{TimePoint(std::chrono::hours(24 * 365 * 56))};
  storage::StoreOptions options_;
  std::string token_;  // SECURITY: never printed
};

TEST_F(TokenStore, AcceptsATokenNewerThanAnIntactCutoff) {
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  StatusOr<Principal> principal = Present(*store);
  ASSERT_TRUE(principal.has_value()) << principal.error().message();
  EXPECT_EQ(principal->name, "alice");
}

TEST_F(TokenStore, RefusesATokenWhenTheCutoffRowFailsItsMac) {
  {
    RawStoreFile raw(options_.data_dir);
    ASSERT_TRUE(raw.ok());
    std::optional<std::string> stored = raw.Get("system", accounts::kTokensValidAfterKey);
    ASSERT_TRUE(stored.has_value());
    stored->back() ^= 0x80;  // last MAC byte
    ASSERT_TRUE(raw.Put("system", accounts::kTokensValidAfterKey, *stored));
  }
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  StatusOr<Principal> principal = Present(*store);
  ASSERT_FALSE(principal.has_value()) << "a tampered cutoff must not read as no cutoff";
  EXPECT_EQ(principal.error().code(), StatusCode::kIntegrityError);
}

}  // namespace
}  // namespace strongroom::api

// Authenticator (api/auth/authenticator.h) with a real store (LMDB in a temp
// dir): an API token is refused when a record it depends on cannot be
// trusted, never accepted as if the record were absent; a failure says why,
// typed (AuthFailure), never in text to be searched.
#include "api/auth/authenticator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "accounts/accounts.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/status_matchers.h"

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
    ASSERT_OK(policy_.Load());
    options_ = TestOptions(dir_);
    std::unique_ptr<storage::Store> store = OpenTestStore(options_);
    ASSERT_NE(store, nullptr);
    StatusOr<SecretBytes> password = SecretBytes::CopyFrom("correct horse battery");
    ASSERT_OK(password);
    ASSERT_OK(accounts::CreateUser(*store, {"alice", "Alice", "", &*password}, clock_));
    clock_.Advance(std::chrono::seconds(1));
    StatusOr<accounts::IssuedToken> issued = accounts::CreateToken(
        *store, *policy_.Get(), {"alice", "Viewer", "default", "test"}, clock_);
    ASSERT_OK(issued);
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
  AuthResult Present(storage::Store& store) { return Authenticate(store, "Bearer " + token_); }

  // Authenticate presents `authorization` (none when empty, and
  // `certificate` when given) against `store`.
  AuthResult Authenticate(storage::Store& store, const std::string& authorization,
                          std::optional<CertificateFacts> certificate = std::nullopt) {
    StatusOr<std::unique_ptr<Authenticator>> authenticator =
        Authenticator::Create(store, policy_, clock_);
    EXPECT_OK(authenticator);
    if (!authenticator.has_value()) return std::unexpected(authenticator.error());
    HttpRequest request;
    request.peer =
        std::make_shared<const PeerInfo>(PeerInfo{1, "192.0.2.1:4000", std::move(certificate)});
    if (!authorization.empty()) {
      request.message.headers().addRaw(Pistache::Http::Header::Raw("Authorization", authorization));
    }
    StatusOr<storage::ReadTxn> txn = store.BeginRead();
    EXPECT_OK(txn);
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
  AuthResult principal = Present(*store);
  ASSERT_OK(principal);
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
  AuthResult principal = Present(*store);
  // A tampered cutoff must not read as no cutoff; and it is not the caller's failure.
  EXPECT_STATUS(principal, StatusCode::kIntegrityError);
  ASSERT_FALSE(principal.has_value());
  EXPECT_EQ(principal.error().failure, AuthFailure::kNone);
}

// Base64 of "alice:<password>".
std::string BasicFor(std::string_view password) {
  const std::string text = "alice:" + std::string(password);
  std::string out;
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(text[i]) << 16) |
                       (static_cast<unsigned char>(text[i + 1]) << 8) |
                       static_cast<unsigned char>(text[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < text.size()) {
    unsigned n = static_cast<unsigned char>(text[i]) << 16;
    if (i + 1 < text.size()) n |= static_cast<unsigned char>(text[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < text.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

TEST_F(TokenStore, NamesEachFailureByATypedReason) {
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  struct Case {
    std::string authorization;
    AuthFailure failure;
  };
  const Case cases[] = {
      {"", AuthFailure::kMissingCredentials},
      {"Bearer not-a-token", AuthFailure::kInvalidToken},
      {"Negotiate abc", AuthFailure::kUnsupportedScheme},
      {BasicFor("wrong horse"), AuthFailure::kInvalidPassword},
  };
  for (const Case& c : cases) {
    AuthResult principal = Authenticate(*store, c.authorization);
    EXPECT_STATUS(principal, StatusCode::kUnauthenticated) << c.authorization;
    if (!principal.has_value()) {
      EXPECT_EQ(principal.error().failure, c.failure) << c.authorization;
    }
  }
  EXPECT_EQ(AuthFailureName(AuthFailure::kCertificateWithoutIdentity),
            "certificate_without_identity");
}

TEST_F(TokenStore, ACertificateWithoutIdentityIsTypedWhateverItsMessageSays) {
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  CertificateFacts facts;  // verified, but names nobody the policy knows
  facts.fingerprint_sha256 = std::string(64, 'a');
  AuthResult principal = Authenticate(*store, "", facts);
  EXPECT_STATUS(principal, StatusCode::kUnauthenticated);
  ASSERT_FALSE(principal.has_value());
  EXPECT_EQ(principal.error().failure, AuthFailure::kCertificateWithoutIdentity);
}

TEST_F(TokenStore, AThrottledPasswordCarriesItsWaitAsANumber) {
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  AuthenticatorOptions options;
  options.free_failures_per_user_address = 1;
  options.credential_cache_ttl = std::chrono::seconds(0);
  StatusOr<std::unique_ptr<Authenticator>> authenticator =
      Authenticator::Create(*store, policy_, clock_, options);
  ASSERT_OK(authenticator);
  HttpRequest request;
  request.peer = std::make_shared<const PeerInfo>(PeerInfo{1, "192.0.2.1:4000", std::nullopt});
  request.message.headers().addRaw(
      Pistache::Http::Header::Raw("Authorization", BasicFor("wrong horse")));
  StatusOr<storage::ReadTxn> txn = store->BeginRead();
  ASSERT_OK(txn);
  AuthResult last = (*authenticator)->Authenticate(request, *txn);
  for (int attempt = 0;
       attempt < 3 && (last.has_value() || last.error().failure != AuthFailure::kThrottled);
       ++attempt) {
    last = (*authenticator)->Authenticate(request, *txn);
  }
  EXPECT_STATUS(last, StatusCode::kResourceExhausted);
  ASSERT_FALSE(last.has_value());
  EXPECT_EQ(last.error().failure, AuthFailure::kThrottled);
  EXPECT_GE(last.error().retry_after.count(), 1);
}

// CheckRightAfterCreate signs `login` in with `password` on an
// authenticator used the moment it is created (no credential cache) and
// returns the outcome and the scrypt checks it made.
std::pair<AuthResult, std::uint64_t> CheckRightAfterCreate(storage::Store& store,
                                                           const PolicyHolder& policy,
                                                           const Clock& clock,
                                                           const std::string& login,
                                                           std::string_view password) {
  AuthenticatorOptions options;
  options.credential_cache_ttl = std::chrono::seconds(0);
  StatusOr<std::unique_ptr<Authenticator>> authenticator =
      Authenticator::Create(store, policy, clock, options);
  EXPECT_OK(authenticator);
  if (!authenticator.has_value()) return {std::unexpected(authenticator.error()), 0};
  StatusOr<storage::ReadTxn> txn = store.BeginRead();
  EXPECT_OK(txn);
  if (!txn.has_value()) return {std::unexpected(txn.error()), 0};
  AuthResult result = (*authenticator)
                          ->AuthenticatePassword(login, *SecretBytes::CopyFrom(password),
                                                 "192.0.2.1:4000", *txn);
  return {std::move(result), (*authenticator)->password_checks()};
}

// Issue 19: the decoy hash for unknown users is made without scrypt at
// construction, so a sign-in right after start never waits for it, and an
// unknown user still costs one full scrypt check, as a known one does.
TEST_F(TokenStore, AnUnknownUserRightAfterStartCostsOneCheckLikeAKnownOne) {
  std::unique_ptr<storage::Store> store = OpenTestStore(options_);
  ASSERT_NE(store, nullptr);
  auto [unknown, unknown_checks] =
      CheckRightAfterCreate(*store, policy_, clock_, "mallory", "correct horse battery");
  auto [wrong, wrong_checks] =
      CheckRightAfterCreate(*store, policy_, clock_, "alice", "wrong horse");
  auto [right, right_checks] =
      CheckRightAfterCreate(*store, policy_, clock_, "alice", "correct horse battery");
  EXPECT_STATUS(unknown, StatusCode::kUnauthenticated);
  EXPECT_STATUS(wrong, StatusCode::kUnauthenticated);
  ASSERT_FALSE(unknown.has_value());
  ASSERT_FALSE(wrong.has_value());
  // One answer whether or not the user exists, after the same work.
  EXPECT_EQ(unknown.error().message(), wrong.error().message());
  EXPECT_EQ(unknown.error().failure, wrong.error().failure);
  EXPECT_EQ(unknown_checks, 1u);
  EXPECT_EQ(wrong_checks, 1u);
  ASSERT_OK(right);
  EXPECT_EQ(right->name, "alice");
  EXPECT_EQ(right_checks, 1u);
}

}  // namespace
}  // namespace strongroom::api

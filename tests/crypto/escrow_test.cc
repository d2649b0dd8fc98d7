// KEK escrow (crypto/escrow.h): Shamir shares of the escrow key, and what
// the token enforces for escrowable KEKs in a real SoftHSMv2 token.
#include "crypto/escrow.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>

#include "crypto/kek.h"
#include "crypto/pkcs11_objects.h"
#include "crypto/token.h"
#include "tests/crypto/token_options.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

// One escrow key for the whole suite: RSA-3072 generation takes a while.
const EscrowKeyPair& SuiteKey() {
  static EscrowKeyPair* key = [] {
    auto generated = GenerateEscrowKey();
    if (!generated.has_value()) std::abort();
    return new EscrowKeyPair(std::move(*generated));
  }();
  return *key;
}

std::vector<EscrowShare> Pick(std::vector<EscrowShare>& all, std::initializer_list<int> indexes) {
  std::vector<EscrowShare> out;
  for (int i : indexes) {
    EscrowShare copy;
    copy.number = all[i].number;
    copy.officers = all[i].officers;
    copy.threshold = all[i].threshold;
    copy.escrow_key_sha256 = all[i].escrow_key_sha256;
    copy.data = *all[i].data.Clone();
    out.push_back(std::move(copy));
  }
  return out;
}

TEST(EscrowShares, AnyTwoOfThreeRebuildTheKeyAndOneDoesNot) {
  const EscrowKeyPair& key = SuiteKey();
  EXPECT_EQ(key.fingerprint_sha256.size(), 64u);
  auto shares = SplitEscrowKey(key, 3, 2);
  ASSERT_OK(shares);
  ASSERT_EQ(shares->size(), 3u);
  for (auto pair : {std::pair{0, 1}, std::pair{0, 2}, std::pair{2, 1}}) {
    auto rebuilt = CombineShares(Pick(*shares, {pair.first, pair.second}));
    ASSERT_OK(rebuilt);
    EXPECT_EQ(rebuilt->fingerprint_sha256, key.fingerprint_sha256);
    EXPECT_TRUE(rebuilt->private_key_der.ConstantTimeEquals(key.private_key_der));
  }
  auto one = CombineShares(Pick(*shares, {1}));
  ASSERT_STATUS(one, StatusCode::kFailedPrecondition);
  auto twice = CombineShares(Pick(*shares, {1, 1}));
  ASSERT_STATUS(twice, StatusCode::kInvalidArgument);
}

TEST(EscrowShares, AnAlteredShareIsDetected) {
  auto shares = SplitEscrowKey(SuiteKey(), 3, 2);
  ASSERT_OK(shares);
  auto picked = Pick(*shares, {0, 2});
  picked[1].data.RevealMutableSecret()[100] ^= 0x01;
  auto rebuilt = CombineShares(picked);
  ASSERT_STATUS(rebuilt, StatusCode::kIntegrityError);
}

TEST(EscrowShares, RefusesAThresholdOfOneOrAboveTheOfficers) {
  EXPECT_FALSE(SplitEscrowKey(SuiteKey(), 3, 1).has_value());
  EXPECT_FALSE(SplitEscrowKey(SuiteKey(), 2, 3).has_value());
}

TEST(EscrowShares, ShareFilesRoundTripAndCarryAChecksum) {
  testing_support::TempDir dir;
  auto shares = SplitEscrowKey(SuiteKey(), 3, 2);
  ASSERT_OK(shares);
  std::vector<EscrowShare> read;
  for (int i : {0, 2}) {
    std::string path = dir.Join("share-" + std::to_string(i));
    ASSERT_OK(WriteShareFile(path, (*shares)[i]));
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_FALSE(WriteShareFile(path, (*shares)[i]).ok())
        << "an existing share file is never overwritten";
    auto back = ReadShareFile(path);
    ASSERT_OK(back);
    EXPECT_EQ(back->number, i + 1);
    EXPECT_EQ(back->threshold, 2);
    EXPECT_EQ(back->escrow_key_sha256, SuiteKey().fingerprint_sha256);
    EXPECT_TRUE(back->data.ConstantTimeEquals((*shares)[i].data));
    read.push_back(std::move(*back));
  }
  auto rebuilt = CombineShares(read);
  ASSERT_OK(rebuilt);
  EXPECT_EQ(rebuilt->fingerprint_sha256, SuiteKey().fingerprint_sha256);

  // One changed character of the data breaks the checksum.
  std::string path = dir.Join("share-0");
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t data = text.find("data: ") + 6;
  text[data] = text[data] == '0' ? '1' : '0';
  std::filesystem::remove(path);
  {
    std::ofstream out(path);
    out << text;
  }
  auto damaged = ReadShareFile(path);
  ASSERT_STATUS(damaged, StatusCode::kIntegrityError);
}

// A token whose security officer imported the suite's escrow key as a
// trusted wrapping key before the user session opened.
class EscrowToken : public ::testing::Test {
 protected:
  void SetUp() override {
    auto so_pin = SecretBytes::CopyFrom(test_token_.so_pin());
    ASSERT_OK(so_pin);
    Status imported =
        ImportTrustedEscrowKey(TokenOptionsFor(test_token_), *so_pin, SuiteKey().public_key_der,
                               SuiteKey().fingerprint_sha256);
    ASSERT_OK(imported) << imported;
    auto token = Token::Open(TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
  }
  void TearDown() override { token_.reset(); }

  // FindKek returns the handle of KEK `id` in `session`.
  static CK_OBJECT_HANDLE FindKek(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session,
                                  std::string_view id) {
    Attributes match;
    match.Ulong(CKA_CLASS, CKO_SECRET_KEY).Text(CKA_ID, id);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    EXPECT_EQ(FindOneObject(fns, session, match, &h), static_cast<CK_RV>(CKR_OK));
    return h;
  }

  // RsaPublicTemplate is an RSA public key (the suite's numbers) that a
  // user session may create: not trusted unless `trusted`.
  static Attributes RsaPublicTemplate(bool trusted) {
    const unsigned char* p = SuiteKey().public_key_der.data();
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(SuiteKey().public_key_der.size()));
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(key, "n", &n);
    EVP_PKEY_get_bn_param(key, "e", &e);
    Bytes modulus(BN_num_bytes(n)), exponent(BN_num_bytes(e));
    BN_bn2bin(n, modulus.data());
    BN_bn2bin(e, exponent.data());
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(key);
    Attributes t;
    t.Ulong(CKA_CLASS, CKO_PUBLIC_KEY)
        .Ulong(CKA_KEY_TYPE, CKK_RSA)
        .Data(CKA_MODULUS, modulus)
        .Data(CKA_PUBLIC_EXPONENT, exponent)
        .Bool(CKA_TOKEN, false)
        .Bool(CKA_WRAP, true);
    if (trusted) t.Bool(CKA_TRUSTED, true);
    return t;
  }

  testing_support::TestToken test_token_;
  std::unique_ptr<Token> token_;
};

TEST_F(EscrowToken, EscrowedKekUnwrapsWithTheRebuiltKeyAndImportsAsTheSameKek) {
  auto present = TrustedEscrowKeyPresent(*token_, SuiteKey().fingerprint_sha256);
  ASSERT_OK(present);
  EXPECT_TRUE(*present);
  auto wrapped = GenerateEscrowableKek(*token_, "kek-escrowed", SuiteKey().fingerprint_sha256);
  ASSERT_OK(wrapped);
  EXPECT_EQ(wrapped->size(), 384u);
  auto data_key = GenerateWrappedKey(*token_, "kek-escrowed", WrappedKeyType::kAes256);
  ASSERT_OK(data_key);

  auto shares = SplitEscrowKey(SuiteKey(), 3, 2);
  ASSERT_OK(shares);
  auto rebuilt = CombineShares(Pick(*shares, {1, 2}));
  ASSERT_OK(rebuilt);
  auto kek = EscrowDecrypt(*rebuilt, *wrapped);
  ASSERT_OK(kek);
  EXPECT_EQ(kek->size(), 32u);
  // Imported under another id: the same key, so it unwraps what the
  // escrowed KEK wrapped, and it is not extractable.
  ASSERT_OK(ImportRecoveredKek(*token_, "kek-recovered", *kek));
  EXPECT_STATUS(ImportRecoveredKek(*token_, "kek-recovered", *kek), StatusCode::kAlreadyExists);
  auto unwrapped = UnwrapKey(*token_, "kek-recovered", data_key->wrapped, WrappedKeyType::kAes256);
  ASSERT_OK(unwrapped);
  EXPECT_TRUE(unwrapped->ConstantTimeEquals(data_key->plaintext));
  Status checked = token_->Run("check", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE h = FindKek(fns, session, "kek-recovered");
    CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
    CK_ATTRIBUTE attrs[] = {{CKA_EXTRACTABLE, &extractable, sizeof extractable},
                            {CKA_SENSITIVE, &sensitive, sizeof sensitive}};
    CK_RV rv = fns->C_GetAttributeValue(session, h, attrs, 2);
    EXPECT_EQ(extractable, CK_FALSE);
    EXPECT_EQ(sensitive, CK_TRUE);
    return rv;
  });
  EXPECT_OK(checked) << checked;
  // A damaged escrowed KEK does not decrypt.
  Bytes damaged = *wrapped;
  damaged[10] ^= 1;
  auto bad = EscrowDecrypt(*rebuilt, damaged);
  ASSERT_STATUS(bad, StatusCode::kIntegrityError);
}

TEST_F(EscrowToken, EscrowedKekCannotBeWrappedByAnUntrustedKeyNorRead) {
  ASSERT_OK(GenerateEscrowableKek(*token_, "kek-escrowed", SuiteKey().fingerprint_sha256));
  ASSERT_OK(GenerateKek(*token_, "kek-plain"));
  Status checked = token_->Run("check", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE kek = FindKek(fns, session, "kek-escrowed");
    // The same RSA key, but created by the user: not trusted.
    Attributes t = RsaPublicTemplate(/*trusted=*/false);
    CK_OBJECT_HANDLE untrusted = CK_INVALID_HANDLE;
    EXPECT_EQ(fns->C_CreateObject(session, t.data(), t.size(), &untrusted),
              static_cast<CK_RV>(CKR_OK));
    CK_RSA_PKCS_OAEP_PARAMS params{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
    CK_MECHANISM oaep{CKM_RSA_PKCS_OAEP, &params, sizeof params};
    std::vector<CK_BYTE> out(512);
    CK_ULONG length = out.size();
    EXPECT_EQ(fns->C_WrapKey(session, &oaep, untrusted, kek, out.data(), &length),
              static_cast<CK_RV>(CKR_KEY_NOT_WRAPPABLE));
    // Nor under an AES KEK of the token, which is not trusted either.
    CK_OBJECT_HANDLE plain = FindKek(fns, session, "kek-plain");
    CK_MECHANISM aes_wrap{CKM_AES_KEY_WRAP, nullptr, 0};
    length = out.size();
    EXPECT_EQ(fns->C_WrapKey(session, &aes_wrap, plain, kek, out.data(), &length),
              static_cast<CK_RV>(CKR_KEY_NOT_WRAPPABLE));
    // Its value is never readable.
    std::vector<CK_BYTE> value(32);
    CK_ATTRIBUTE attr{CKA_VALUE, value.data(), value.size()};
    EXPECT_EQ(fns->C_GetAttributeValue(session, kek, &attr, 1),
              static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));
    EXPECT_EQ(attr.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    // CKA_WRAP_WITH_TRUSTED cannot be turned off.
    CK_BBOOL off = CK_FALSE;
    CK_ATTRIBUTE clear{CKA_WRAP_WITH_TRUSTED, &off, sizeof off};
    EXPECT_NE(fns->C_SetAttributeValue(session, kek, &clear, 1), static_cast<CK_RV>(CKR_OK));
    return fns->C_DestroyObject(session, untrusted);
  });
  EXPECT_OK(checked) << checked;
}

TEST_F(EscrowToken, EscrowUserSessionCannotMarkAKeyTrusted) {
  Status checked = token_->Run("check", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    Attributes trusted = RsaPublicTemplate(/*trusted=*/true);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    EXPECT_EQ(fns->C_CreateObject(session, trusted.data(), trusted.size(), &h),
              static_cast<CK_RV>(CKR_ATTRIBUTE_READ_ONLY));
    Attributes plain = RsaPublicTemplate(/*trusted=*/false);
    EXPECT_EQ(fns->C_CreateObject(session, plain.data(), plain.size(), &h),
              static_cast<CK_RV>(CKR_OK));
    CK_BBOOL on = CK_TRUE;
    CK_ATTRIBUTE mark{CKA_TRUSTED, &on, sizeof on};
    EXPECT_NE(fns->C_SetAttributeValue(session, h, &mark, 1), static_cast<CK_RV>(CKR_OK));
    CK_BBOOL now = CK_TRUE;
    CK_ATTRIBUTE read{CKA_TRUSTED, &now, sizeof now};
    EXPECT_EQ(fns->C_GetAttributeValue(session, h, &read, 1), static_cast<CK_RV>(CKR_OK));
    EXPECT_EQ(now, CK_FALSE);
    return fns->C_DestroyObject(session, h);
  });
  EXPECT_OK(checked) << checked;
}

TEST(EscrowSecurityOfficer, AWrongSoPinIsRefusedAndImportsNothing) {
  testing_support::TestToken test_token;
  auto wrong = SecretBytes::CopyFrom(std::string_view("not-the-so-pin"));
  ASSERT_OK(wrong);
  Status imported =
      ImportTrustedEscrowKey(TokenOptionsFor(test_token), *wrong, SuiteKey().public_key_der,
                             SuiteKey().fingerprint_sha256);
  EXPECT_STATUS(imported, StatusCode::kPermissionDenied);
  auto token = Token::Open(TokenOptionsFor(test_token));
  ASSERT_OK(token);
  auto present = TrustedEscrowKeyPresent(**token, SuiteKey().fingerprint_sha256);
  ASSERT_OK(present);
  EXPECT_FALSE(*present);
  auto kek = GenerateEscrowableKek(**token, "kek-x", SuiteKey().fingerprint_sha256);
  ASSERT_STATUS(kek, StatusCode::kFailedPrecondition);
  auto exists = KekExists(**token, "kek-x");
  ASSERT_OK(exists);
  EXPECT_FALSE(*exists);
}

}  // namespace
}  // namespace strongroom::crypto

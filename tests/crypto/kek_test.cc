// KEKs, the audit key pair and key wrapping against a real SoftHSMv2 token.
#include "crypto/kek.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "crypto/audit_signing_key.h"
#include "crypto/pkcs11_objects.h"
#include "tests/crypto/token_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

class KekTest : public TokenFixture {
 protected:
  // Reads one attribute of the single object matching `match`.
  CK_RV ReadAttribute(Attributes match, CK_ATTRIBUTE_TYPE type, Bytes* out) {
    CK_RV result = CKR_OK;
    Status s = token_->Run("read", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
      std::vector<CK_OBJECT_HANDLE> found;
      CK_RV rv = FindObjects(fns, session, match, &found);
      if (rv != CKR_OK) return rv;
      if (found.size() != 1) return result = CKR_GENERAL_ERROR;
      result = GetBytesAttribute(fns, session, found[0], type, out);
      return CKR_OK;
    });
    EXPECT_OK(s) << s;
    return result;
  }

  bool BoolAttribute(Attributes match, CK_ATTRIBUTE_TYPE type) {
    Bytes value;
    EXPECT_EQ(ReadAttribute(std::move(match), type, &value), static_cast<CK_RV>(CKR_OK));
    return value.size() == 1 && value[0] == CK_TRUE;
  }
};

Attributes KekById(std::string_view id) {
  Attributes a;
  a.Ulong(CKA_CLASS, CKO_SECRET_KEY).Text(CKA_ID, id);
  return a;
}

TEST_F(KekTest, KekHasTheRequiredAttributesAndItsValueCannotBeRead) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  EXPECT_STATUS(GenerateKek(*token_, "kek-1"), StatusCode::kAlreadyExists);
  for (CK_ATTRIBUTE_TYPE t : {CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_WRAP, CKA_UNWRAP}) {
    EXPECT_TRUE(BoolAttribute(KekById("kek-1"), t)) << std::hex << t;
  }
  for (CK_ATTRIBUTE_TYPE t : {CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_DERIVE}) {
    EXPECT_FALSE(BoolAttribute(KekById("kek-1"), t)) << std::hex << t;
  }
  Bytes label;
  ASSERT_EQ(ReadAttribute(KekById("kek-1"), CKA_LABEL, &label), static_cast<CK_RV>(CKR_OK));
  EXPECT_EQ(AsChars(label), "strongroom-kek-kek-1");
  Bytes value;
  EXPECT_EQ(ReadAttribute(KekById("kek-1"), CKA_VALUE, &value), static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));
  EXPECT_TRUE(value.empty());
  StatusOr<std::vector<std::string>> ids = ListKekIds(*token_);
  ASSERT_OK(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{"kek-1"});
}

TEST_F(KekTest, AuditPrivateKeyIsSensitiveAndSignaturesVerifyOffline) {
  StatusOr<bool> created = EnsureAuditKeyPair(*token_);
  ASSERT_OK(created);
  EXPECT_TRUE(*created);
  EXPECT_FALSE(*EnsureAuditKeyPair(*token_));  // idempotent
  Attributes priv;
  priv.Ulong(CKA_CLASS, CKO_PRIVATE_KEY).Text(CKA_LABEL, kAuditKeyLabel);
  Bytes value;
  EXPECT_EQ(ReadAttribute(priv, CKA_VALUE, &value), static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));
  EXPECT_TRUE(BoolAttribute(priv, CKA_SENSITIVE));
  EXPECT_FALSE(BoolAttribute(priv, CKA_EXTRACTABLE));

  StatusOr<AuditPublicKey> pub = GetAuditPublicKey(*token_);
  ASSERT_OK(pub);
  EXPECT_EQ(pub->fingerprint_sha256.size(), 64u);
  EXPECT_NE(pub->pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  std::string message = "seq=42 head=abc rv=7";
  auto sig = SignWithAuditKey(*token_, AsBytes(message));
  ASSERT_OK(sig);
  EXPECT_OK(VerifyAuditSignature(pub->pem, AsBytes(message), *sig));
  std::string altered = message;
  altered[4] = '3';
  EXPECT_STATUS(VerifyAuditSignature(pub->pem, AsBytes(altered), *sig),
                StatusCode::kIntegrityError);
}

TEST_F(KekTest, DataKeysRoundTripThroughWrapAndUnwrap) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  auto generated = GenerateWrappedKey(*token_, "kek-1", WrappedKeyType::kAes256);
  ASSERT_OK(generated);
  EXPECT_EQ(generated->wrapped.size(), 40u);
  EXPECT_EQ(generated->plaintext.size(), 32u);
  auto unwrapped = UnwrapKey(*token_, "kek-1", generated->wrapped, WrappedKeyType::kAes256);
  ASSERT_OK(unwrapped);
  EXPECT_TRUE(unwrapped->ConstantTimeEquals(generated->plaintext));
  // The transient session copy was destroyed: only the KEK is left.
  Attributes any_secret;
  any_secret.Ulong(CKA_CLASS, CKO_SECRET_KEY);
  std::size_t secrets = 0;
  ASSERT_OK(token_->Run("count", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE s) {
    std::vector<CK_OBJECT_HANDLE> found;
    CK_RV rv = FindObjects(fns, s, any_secret, &found);
    secrets = found.size();
    return rv;
  }));
  EXPECT_EQ(secrets, 1u);
}

TEST_F(KekTest, TamperedOrForeignWrappedKeysFailWithAnIntegrityError) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  ASSERT_OK(GenerateKek(*token_, "kek-2"));
  auto generated = GenerateWrappedKey(*token_, "kek-1", WrappedKeyType::kAes256);
  ASSERT_OK(generated);
  for (std::size_t i = 0; i < generated->wrapped.size(); i += 7) {
    Bytes tampered = generated->wrapped;
    tampered[i] ^= 0x01;
    auto r = UnwrapKey(*token_, "kek-1", tampered, WrappedKeyType::kAes256);
    ASSERT_STATUS(r, StatusCode::kIntegrityError);
  }
  auto foreign = UnwrapKey(*token_, "kek-2", generated->wrapped, WrappedKeyType::kAes256);
  ASSERT_STATUS(foreign, StatusCode::kIntegrityError);
  Bytes truncated(generated->wrapped.begin(), generated->wrapped.end() - 8);
  EXPECT_STATUS(UnwrapKey(*token_, "kek-1", truncated, WrappedKeyType::kAes256),
                StatusCode::kIntegrityError);
  EXPECT_STATUS(UnwrapKey(*token_, "kek-9", generated->wrapped, WrappedKeyType::kAes256),
                StatusCode::kNotFound);
}

TEST_F(KekTest, RewrapMovesAKeyToAnotherKekWithoutChangingIt) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  ASSERT_OK(GenerateKek(*token_, "kek-2"));
  auto generated = GenerateWrappedKey(*token_, "kek-1", WrappedKeyType::kHmacSha256);
  ASSERT_OK(generated);
  auto rewrapped = RewrapKey(*token_, "kek-1", "kek-2", generated->wrapped, WrappedKeyType::kHmacSha256);
  ASSERT_OK(rewrapped);
  EXPECT_NE(*rewrapped, generated->wrapped);
  auto unwrapped = UnwrapKey(*token_, "kek-2", *rewrapped, WrappedKeyType::kHmacSha256);
  ASSERT_OK(unwrapped);
  EXPECT_TRUE(unwrapped->ConstantTimeEquals(generated->plaintext));
}

// NIST SP 800-38F KW vectors (CAVP, from python3-cryptography-vectors) run
// through the token's CKM_AES_KEY_WRAP, the mechanism kek.cc uses.
struct KwVector {
  Bytes k, p, c;
  bool fail = false;
};

std::vector<KwVector> ReadKwVectors(const std::string& path) {
  std::ifstream in(path);
  std::vector<KwVector> out;
  KwVector v;
  std::string line;
  auto value = [](const std::string& l) { return *HexDecode(l.substr(l.find('=') + 2)); };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("COUNT", 0) == 0) v = KwVector{};
    else if (line.rfind("K = ", 0) == 0) v.k = value(line);
    else if (line.rfind("P = ", 0) == 0) v.p = value(line);
    else if (line.rfind("C = ", 0) == 0) v.c = value(line);
    else if (line == "FAIL") v.fail = true;
    else if (line.empty() && !v.k.empty() && !v.c.empty()) {
      out.push_back(v);
      v = KwVector{};
    }
  }
  if (!v.k.empty() && !v.c.empty()) out.push_back(v);
  return out;
}

constexpr const char* kKwDir = "/usr/lib/python3/dist-packages/cryptography_vectors/keywrap/kwtestvectors/";

TEST_F(KekTest, AesKeyWrapMatchesNistVectors) {
  std::vector<KwVector> encrypt = ReadKwVectors(std::string(kKwDir) + "KW_AE_256.txt");
  std::vector<KwVector> decrypt = ReadKwVectors(std::string(kKwDir) + "KW_AD_256.txt");
  ASSERT_GE(encrypt.size(), 100u) << "NIST vectors missing: run scripts/setup.sh";
  ASSERT_GE(decrypt.size(), 100u) << "NIST vectors missing: run scripts/setup.sh";
  std::size_t wrapped_ok = 0, unwrapped_ok = 0, rejected = 0;
  Status run = token_->Run("kw vectors", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    auto import = [&](const Bytes& value, CK_KEY_TYPE type, CK_OBJECT_HANDLE* h) {
      Attributes a;
      a.Ulong(CKA_CLASS, CKO_SECRET_KEY).Ulong(CKA_KEY_TYPE, type).Bool(CKA_TOKEN, false)
          .Bool(CKA_SENSITIVE, false).Bool(CKA_EXTRACTABLE, true).Bool(CKA_WRAP, true)
          .Bool(CKA_UNWRAP, true).Data(CKA_VALUE, value);
      return fns->C_CreateObject(session, a.data(), a.size(), h);
    };
    CK_MECHANISM kw{CKM_AES_KEY_WRAP, nullptr, 0};
    for (const KwVector& v : encrypt) {
      CK_OBJECT_HANDLE kek, key;
      if (import(v.k, CKK_AES, &kek) != CKR_OK || import(v.p, CKK_GENERIC_SECRET, &key) != CKR_OK) {
        return static_cast<CK_RV>(CKR_GENERAL_ERROR);
      }
      Bytes out(v.p.size() + 8);
      CK_ULONG len = out.size();
      if (fns->C_WrapKey(session, &kw, kek, key, out.data(), &len) == CKR_OK && len == v.c.size() &&
          Bytes(out.begin(), out.begin() + len) == v.c) {
        ++wrapped_ok;
      }
      fns->C_DestroyObject(session, key);
      fns->C_DestroyObject(session, kek);
    }
    for (const KwVector& v : decrypt) {
      CK_OBJECT_HANDLE kek, key = CK_INVALID_HANDLE;
      if (import(v.k, CKK_AES, &kek) != CKR_OK) return static_cast<CK_RV>(CKR_GENERAL_ERROR);
      Attributes t;
      t.Ulong(CKA_CLASS, CKO_SECRET_KEY).Ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET).Bool(CKA_TOKEN, false)
          .Bool(CKA_SENSITIVE, false).Bool(CKA_EXTRACTABLE, true);
      CK_RV rv = fns->C_UnwrapKey(session, &kw, kek, const_cast<CK_BYTE*>(v.c.data()), v.c.size(),
                                  t.data(), t.size(), &key);
      if (v.fail) {
        if (rv != CKR_OK) ++rejected;
      } else if (rv == CKR_OK) {
        Bytes value;
        if (GetBytesAttribute(fns, session, key, CKA_VALUE, &value) == CKR_OK && value == v.p) ++unwrapped_ok;
      }
      if (key != CK_INVALID_HANDLE) fns->C_DestroyObject(session, key);
      fns->C_DestroyObject(session, kek);
    }
    return static_cast<CK_RV>(CKR_OK);
  });
  ASSERT_OK(run) << run;
  std::size_t expected_fail = 0;
  for (const KwVector& v : decrypt) expected_fail += v.fail ? 1 : 0;
  EXPECT_EQ(wrapped_ok, encrypt.size());
  EXPECT_EQ(unwrapped_ok, decrypt.size() - expected_fail);
  EXPECT_EQ(rejected, expected_fail);
  EXPECT_GT(expected_fail, 0u);
}

}  // namespace
}  // namespace strongroom::crypto

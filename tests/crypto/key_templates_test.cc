// The objects crypto/key_templates.h describes, created in a real SoftHSMv2
// token and read back with C_GetAttributeValue: each may do only what
// Strongroom does with it.
#include "crypto/key_templates.h"

#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

#include "crypto/audit_signing_key.h"
#include "crypto/kek.h"
#include "tests/crypto/token_fixture.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

// Every usage a secret key can be given; a transient key copy needs none
// (the token only wraps it and Strongroom reads its CKA_VALUE), nor does
// it need to be copied. (Not CKA_MODIFIABLE: SoftHSM refuses to unwrap into
// an unmodifiable object.)
constexpr CK_ATTRIBUTE_TYPE kSecretKeyUsages[] = {CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP,
                                                  CKA_UNWRAP,  CKA_SIGN,    CKA_VERIFY,
                                                  CKA_DERIVE,  CKA_COPYABLE};

struct AttributeName {
  CK_ATTRIBUTE_TYPE type;
  const char* name;
};

class KeyTemplatesTest : public TokenFixture {
 protected:
  // ReadBools reads `types` of `object` in `session`; a type the object
  // does not have reads as nullopt.
  static std::vector<std::optional<bool>> ReadBools(CK_FUNCTION_LIST* fns,
                                                    CK_SESSION_HANDLE session,
                                                    CK_OBJECT_HANDLE object,
                                                    const std::vector<CK_ATTRIBUTE_TYPE>& types) {
    std::vector<std::optional<bool>> out;
    for (CK_ATTRIBUTE_TYPE type : types) {
      CK_BBOOL value = CK_FALSE;
      CK_ATTRIBUTE attribute{type, &value, sizeof value};
      CK_RV rv = fns->C_GetAttributeValue(session, object, &attribute, 1);
      out.push_back(rv == CKR_OK ? std::optional<bool>(value == CK_TRUE) : std::nullopt);
    }
    return out;
  }

  // ReadTokenObject reads `types` of the one token object matching `match`.
  std::vector<std::optional<bool>> ReadTokenObject(Attributes match,
                                                   const std::vector<CK_ATTRIBUTE_TYPE>& types) {
    std::vector<std::optional<bool>> out;
    Status read = token_->Run("read", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
      CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
      CK_RV rv = FindOneObject(fns, session, match, &object);
      if (rv == CKR_OK) out = ReadBools(fns, session, object, types);
      return rv;
    });
    EXPECT_OK(read) << read;
    return out;
  }
};

std::vector<CK_ATTRIBUTE_TYPE> Usages() {
  return std::vector<CK_ATTRIBUTE_TYPE>(std::begin(kSecretKeyUsages), std::end(kSecretKeyUsages));
}

TEST_F(KeyTemplatesTest, AKekCanBeNeitherModifiedNorCopied) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  Attributes kek;
  kek.Ulong(CKA_CLASS, CKO_SECRET_KEY).Bool(CKA_TOKEN, true).Text(CKA_ID, "kek-1");
  std::vector<std::optional<bool>> read = ReadTokenObject(kek, {CKA_MODIFIABLE, CKA_COPYABLE});
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0], std::optional<bool>(false)) << "CKA_MODIFIABLE";
  EXPECT_EQ(read[1], std::optional<bool>(false)) << "CKA_COPYABLE";

  // And SoftHSM enforces both: no attribute changes, no copy.
  CK_RV set_rv = CKR_OK, copy_rv = CKR_OK;
  ASSERT_OK(token_->Run("tamper", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
    CK_RV rv = FindOneObject(fns, session, kek, &object);
    if (rv != CKR_OK) return rv;
    Attributes relabel;
    relabel.Text(CKA_LABEL, "renamed");
    set_rv = fns->C_SetAttributeValue(session, object, relabel.data(), relabel.size());
    Attributes as_session_object;
    as_session_object.Bool(CKA_TOKEN, false);
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    copy_rv = fns->C_CopyObject(session, object, as_session_object.data(),
                                as_session_object.size(), &copy);
    if (copy_rv == CKR_OK) (void)fns->C_DestroyObject(session, copy);
    return static_cast<CK_RV>(CKR_OK);
  }));
  EXPECT_NE(set_rv, static_cast<CK_RV>(CKR_OK)) << "the KEK's label could be changed";
  EXPECT_NE(copy_rv, static_cast<CK_RV>(CKR_OK)) << "the KEK could be copied";
}

TEST_F(KeyTemplatesTest, TheAuditKeyPairMayOnlySignAndVerify) {
  ASSERT_OK(EnsureAuditKeyPair(*token_));
  struct Half {
    CK_OBJECT_CLASS klass;
    AttributeName used;
    std::vector<AttributeName> unused;
  };
  const Half halves[] = {
      {CKO_PUBLIC_KEY,
       {CKA_VERIFY, "CKA_VERIFY"},
       {{CKA_ENCRYPT, "CKA_ENCRYPT"},
        {CKA_WRAP, "CKA_WRAP"},
        {CKA_VERIFY_RECOVER, "CKA_VERIFY_RECOVER"},
        {CKA_DERIVE, "CKA_DERIVE"}}},
      {CKO_PRIVATE_KEY,
       {CKA_SIGN, "CKA_SIGN"},
       {{CKA_DECRYPT, "CKA_DECRYPT"},
        {CKA_UNWRAP, "CKA_UNWRAP"},
        {CKA_SIGN_RECOVER, "CKA_SIGN_RECOVER"},
        {CKA_DERIVE, "CKA_DERIVE"},
        {CKA_MODIFIABLE, "CKA_MODIFIABLE"},
        {CKA_COPYABLE, "CKA_COPYABLE"}}},
  };
  for (const Half& half : halves) {
    SCOPED_TRACE(half.klass == CKO_PUBLIC_KEY ? "public key" : "private key");
    Attributes match;
    match.Ulong(CKA_CLASS, half.klass).Bool(CKA_TOKEN, true).Text(CKA_LABEL, kAuditKeyLabel);
    std::vector<CK_ATTRIBUTE_TYPE> types = {half.used.type};
    for (const AttributeName& a : half.unused) types.push_back(a.type);
    std::vector<std::optional<bool>> read = ReadTokenObject(match, types);
    ASSERT_EQ(read.size(), types.size());
    EXPECT_EQ(read[0], std::optional<bool>(true)) << half.used.name;
    for (std::size_t i = 0; i < half.unused.size(); ++i) {
      EXPECT_EQ(read[i + 1], std::optional<bool>(false)) << half.unused[i].name;
    }
  }
}

TEST_F(KeyTemplatesTest, TransientDataAndMacKeyCopiesCanDoNothingInTheToken) {
  ASSERT_OK(GenerateKek(*token_, "kek-1"));
  for (WrappedKeyType type : {WrappedKeyType::kAes256, WrappedKeyType::kHmacSha256}) {
    SCOPED_TRACE(type == WrappedKeyType::kAes256 ? "data key" : "record-MAC key");
    StatusOr<GeneratedKey> generated = GenerateWrappedKey(*token_, "kek-1", type);
    ASSERT_OK(generated);
    // As GenerateWrappedKey creates it (with a length) and as UnwrapKey and
    // RewrapKey create it (C_UnwrapKey, the length from the wrapped bytes).
    std::vector<std::optional<bool>> generated_usages, unwrapped_usages;
    ASSERT_OK(token_->Run("create copies", [&](CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session) {
      Attributes match;
      match.Ulong(CKA_CLASS, CKO_SECRET_KEY).Bool(CKA_TOKEN, true).Text(CKA_ID, "kek-1");
      CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
      CK_RV rv = FindOneObject(fns, session, match, &kek);
      if (rv != CKR_OK) return rv;
      Attributes for_generate = SessionKeyTemplate(type, /*with_length=*/true);
      CK_MECHANISM gen{type == WrappedKeyType::kAes256 ? CKM_AES_KEY_GEN
                                                       : CKM_GENERIC_SECRET_KEY_GEN,
                       nullptr, 0};
      CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
      rv = fns->C_GenerateKey(session, &gen, for_generate.data(), for_generate.size(), &key);
      if (rv != CKR_OK) return rv;
      generated_usages = ReadBools(fns, session, key, Usages());
      rv = fns->C_DestroyObject(session, key);
      if (rv != CKR_OK) return rv;
      Attributes for_unwrap = SessionKeyTemplate(type, /*with_length=*/false);
      CK_MECHANISM wrap{CKM_AES_KEY_WRAP, nullptr, 0};
      rv = fns->C_UnwrapKey(session, &wrap, kek, generated->wrapped.data(),
                            generated->wrapped.size(), for_unwrap.data(), for_unwrap.size(), &key);
      if (rv != CKR_OK) return rv;
      unwrapped_usages = ReadBools(fns, session, key, Usages());
      return fns->C_DestroyObject(session, key);
    }));
    ASSERT_EQ(generated_usages.size(), std::size(kSecretKeyUsages));
    ASSERT_EQ(unwrapped_usages.size(), std::size(kSecretKeyUsages));
    for (std::size_t i = 0; i < std::size(kSecretKeyUsages); ++i) {
      EXPECT_EQ(generated_usages[i], std::optional<bool>(false))
          << "generated, attribute 0x" << std::hex << kSecretKeyUsages[i];
      EXPECT_EQ(unwrapped_usages[i], std::optional<bool>(false))
          << "unwrapped, attribute 0x" << std::hex << kSecretKeyUsages[i];
    }
  }
}

}  // namespace
}  // namespace strongroom::crypto

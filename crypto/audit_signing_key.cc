#include "crypto/audit_signing_key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "base/openssl_ptr.h"
#include "crypto/key_templates.h"
#include "crypto/pkcs11.h"
#include "crypto/pkcs11_objects.h"

namespace strongroom::crypto {
namespace {

Attributes KeyMatch(CK_OBJECT_CLASS klass) {
  Attributes t;
  t.Ulong(CKA_CLASS, klass).Ulong(CKA_KEY_TYPE, CKK_EC).Bool(CKA_TOKEN, true).Text(CKA_LABEL, kAuditKeyLabel);
  return t;
}

CK_RV FindOne(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session, CK_OBJECT_CLASS klass,
              CK_OBJECT_HANDLE* out) {
  Attributes match = KeyMatch(klass);
  return FindOneObject(fns, session, match, out);
}

// EcPointFromDer strips the DER OCTET STRING around CKA_EC_POINT.
StatusOr<Bytes> EcPointFromDer(const Bytes& der) {
  if (der.size() == 65 && der[0] == 0x04) return der;  // some modules return it raw
  if (der.size() == 67 && der[0] == 0x04 && der[1] == 65 && der[2] == 0x04) {
    return Bytes(der.begin() + 2, der.end());
  }
  return std::unexpected(Status::Internal("unexpected CKA_EC_POINT encoding"));
}

StatusOr<AuditPublicKey> PublicKeyFromPoint(const Bytes& point) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("prime256v1"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<std::uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return std::unexpected(OpenSslError("building the audit public key"));
  }
  EvpPkeyPtr key(raw);
  AuditPublicKey out;
  int der_len = i2d_PUBKEY(key.get(), nullptr);
  if (der_len <= 0) return std::unexpected(OpenSslError("encoding the audit public key"));
  out.der.assign(static_cast<std::size_t>(der_len), 0);
  std::uint8_t* p = out.der.data();
  i2d_PUBKEY(key.get(), &p);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return std::unexpected(OpenSslError("PEM-encoding the audit public key"));
  }
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio.get(), &pem);
  out.pem.assign(pem, static_cast<std::size_t>(pem_len));
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(out.der.data(), out.der.size(), digest);
  out.fingerprint_sha256 = HexEncode(ByteSpan(digest, sizeof digest));
  return out;
}

}  // namespace

StatusOr<bool> EnsureAuditKeyPair(Token& token) {
  bool created = false;
  SR_RETURN_IF_ERROR(token.RunCreating("generate audit key pair", [&](CK_FUNCTION_LIST* fns,
                                                                      CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE existing = CK_INVALID_HANDLE;
    CK_RV rv = FindOne(fns, session, CKO_PRIVATE_KEY, &existing);
    if (rv == CKR_OK) return CKR_OK;
    if (rv != CKR_KEY_HANDLE_INVALID) return rv;
    Attributes pub = AuditPublicKeyTemplate();
    Attributes priv = AuditPrivateKeyTemplate();
    CK_MECHANISM mechanism{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE pub_key = CK_INVALID_HANDLE, priv_key = CK_INVALID_HANDLE;
    rv = fns->C_GenerateKeyPair(session, &mechanism, pub.data(), pub.size(), priv.data(),
                                priv.size(), &pub_key, &priv_key);
    created = rv == CKR_OK;
    return rv;
  }));
  return created;
}

StatusOr<AuditPublicKey> GetAuditPublicKey(Token& token) {
  Bytes der_point;
  bool missing = false;
  SR_RETURN_IF_ERROR(token.Run("read audit public key", [&](CK_FUNCTION_LIST* fns,
                                                            CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_RV rv = FindOne(fns, session, CKO_PUBLIC_KEY, &key);
    missing = rv == CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK) return missing ? CKR_OK : rv;
    return GetBytesAttribute(fns, session, key, CKA_EC_POINT, &der_point);
  }));
  if (missing) return std::unexpected(Status::NotFound("the token has no audit signing key"));
  SR_ASSIGN_OR_RETURN(Bytes point, EcPointFromDer(der_point));
  return PublicKeyFromPoint(point);
}

StatusOr<std::array<std::uint8_t, 64>> SignWithAuditKey(Token& token, ByteSpan message) {
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(message.data(), message.size(), digest);
  std::array<std::uint8_t, 64> signature{};
  bool missing = false;
  SR_RETURN_IF_ERROR(token.Run("sign audit checkpoint", [&](CK_FUNCTION_LIST* fns,
                                                            CK_SESSION_HANDLE session) {
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_RV rv = FindOne(fns, session, CKO_PRIVATE_KEY, &key);
    missing = rv == CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK) return missing ? CKR_OK : rv;
    CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
    rv = fns->C_SignInit(session, &mechanism, key);
    if (rv != CKR_OK) return rv;
    CK_ULONG len = signature.size();
    return fns->C_Sign(session, digest, sizeof digest, signature.data(), &len);
  }));
  if (missing) return std::unexpected(Status::NotFound("the token has no audit signing key"));
  return signature;
}

Status VerifyAuditSignature(std::string_view public_key_pem, ByteSpan message, ByteSpan signature) {
  if (signature.size() != 64) return Status::IntegrityError("signature is not 64 bytes");
  BioPtr bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ClearOpenSslErrors();
    return Status::InvalidArgument("the audit public key is not a PEM public key");
  }
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return OpenSslError("decoding the signature");
  }
  std::uint8_t* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return OpenSslError("encoding the signature");
  Bytes der_sig(der, der + der_len);
  OPENSSL_free(der);
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(message.data(), message.size(), digest);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return OpenSslError("verify init");
  int ok = EVP_PKEY_verify(ctx.get(), der_sig.data(), der_sig.size(), digest, sizeof digest);
  ClearOpenSslErrors();
  if (ok != 1) return Status::IntegrityError("audit signature does not verify");
  return Status::Ok();
}

}  // namespace strongroom::crypto

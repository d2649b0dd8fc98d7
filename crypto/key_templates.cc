#include "crypto/key_templates.h"

#include "crypto/audit_signing_key.h"

namespace strongroom::crypto {
namespace {

// DER of OID 1.2.840.10045.3.1.7 (prime256v1 / P-256).
constexpr std::uint8_t kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

CK_KEY_TYPE KeyTypeOf(WrappedKeyType type) {
  return type == WrappedKeyType::kAes256 ? CKK_AES : CKK_GENERIC_SECRET;
}

// KekAttributes is every KEK's template: KekTemplate's, EscrowableKekTemplate's
// (escrowable: CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true) and
// RecoveredKekTemplate's (no CKA_VALUE_LEN: C_CreateObject takes the length
// from CKA_VALUE).
Attributes KekAttributes(std::string_view kek_id, std::string_view label, bool escrowable,
                         bool with_length) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY).Ulong(CKA_KEY_TYPE, CKK_AES);
  if (with_length) t.Ulong(CKA_VALUE_LEN, kKeyValueBytes);
  t.Text(CKA_LABEL, label)
      .Text(CKA_ID, kek_id)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true)
      .Bool(CKA_EXTRACTABLE, escrowable);
  if (escrowable) t.Bool(CKA_WRAP_WITH_TRUSTED, true);
  t.Bool(CKA_WRAP, true)
      .Bool(CKA_UNWRAP, true)
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_SIGN, false)
      .Bool(CKA_VERIFY, false)
      .Bool(CKA_DERIVE, false)
      // Nothing ever changes a KEK (its label and id name it in the store's
      // records) and nothing copies it: C_CopyObject could otherwise make
      // a second KEK with other attributes.
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_COPYABLE, false);
  return t;
}

}  // namespace

Attributes KekTemplate(std::string_view kek_id, std::string_view label) {
  return KekAttributes(kek_id, label, /*escrowable=*/false, /*with_length=*/true);
}

Attributes SessionKeyTemplate(WrappedKeyType type, bool with_length) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY)
      .Ulong(CKA_KEY_TYPE, KeyTypeOf(type))
      .Bool(CKA_TOKEN, false)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, false)
      .Bool(CKA_EXTRACTABLE, true)
      // Strongroom only reads CKA_VALUE and lets a KEK wrap it (which needs
      // CKA_EXTRACTABLE on this key, CKA_WRAP on the KEK). SoftHSM's defaults
      // would make it an encrypt/decrypt/wrap/unwrap/sign/verify key while
      // it exists; every usage is refused instead, and it cannot be copied
      // (a copy could be made a token object). CKA_MODIFIABLE stays at its
      // default: SoftHSM 2.6.1 refuses C_UnwrapKey with it false
      // (CKR_ATTRIBUTE_READ_ONLY, measured).
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_WRAP, false)
      .Bool(CKA_UNWRAP, false)
      .Bool(CKA_SIGN, false)
      .Bool(CKA_VERIFY, false)
      .Bool(CKA_DERIVE, false)
      .Bool(CKA_COPYABLE, false);
  if (with_length) t.Ulong(CKA_VALUE_LEN, kKeyValueBytes);
  return t;
}

Attributes AuditPublicKeyTemplate() {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_EC)
      .Data(CKA_EC_PARAMS, ByteSpan(kP256Params, sizeof kP256Params))
      .Text(CKA_LABEL, kAuditKeyLabel)
      .Text(CKA_ID, kAuditKeyLabel)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, false)
      // Only C_Verify-style use; SoftHSM's defaults would also allow
      // encrypt, wrap and verify-recover.
      .Bool(CKA_VERIFY, true)
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_WRAP, false)
      .Bool(CKA_VERIFY_RECOVER, false)
      .Bool(CKA_DERIVE, false);
  return t;
}

Attributes AuditPrivateKeyTemplate() {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_PRIVATE_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_EC)
      .Text(CKA_LABEL, kAuditKeyLabel)
      .Text(CKA_ID, kAuditKeyLabel)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true)
      .Bool(CKA_EXTRACTABLE, false)
      // Only CKM_ECDSA signatures of checkpoints (SoftHSM's default would
      // also allow sign-recover); never changed, never copied.
      .Bool(CKA_SIGN, true)
      .Bool(CKA_SIGN_RECOVER, false)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_DERIVE, false)
      .Bool(CKA_UNWRAP, false)
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_COPYABLE, false);
  return t;
}

Attributes EscrowableKekTemplate(std::string_view kek_id, std::string_view label) {
  return KekAttributes(kek_id, label, /*escrowable=*/true, /*with_length=*/true);
}

Attributes RecoveredKekTemplate(std::string_view kek_id, std::string_view label) {
  return KekAttributes(kek_id, label, /*escrowable=*/false, /*with_length=*/false);
}

Attributes TrustedEscrowKeyTemplate(std::string_view id, std::string_view label, ByteSpan modulus,
                                    ByteSpan public_exponent) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_RSA)
      .Data(CKA_MODULUS, modulus)
      .Data(CKA_PUBLIC_EXPONENT, public_exponent)
      .Text(CKA_LABEL, label)
      .Text(CKA_ID, id)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, false)
      .Bool(CKA_TRUSTED, true)
      .Bool(CKA_WRAP, true)
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_VERIFY, false)
      .Bool(CKA_VERIFY_RECOVER, false)
      .Bool(CKA_DERIVE, false)
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_COPYABLE, false);
  return t;
}

}  // namespace strongroom::crypto

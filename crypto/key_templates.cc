#include "crypto/key_templates.h"

#include "crypto/audit_signing_key.h"

namespace strongroom::crypto {
namespace {

// DER of OID 1.2.840.10045.3.1.7 (prime256v1 / P-256).
constexpr std::uint8_t kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

CK_KEY_TYPE KeyTypeOf(WrappedKeyType type) {
  return type == WrappedKeyType::kAes256 ? CKK_AES : CKK_GENERIC_SECRET;
}

}  // namespace

Attributes KekTemplate(std::string_view kek_id, std::string_view label) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_AES)
      .Ulong(CKA_VALUE_LEN, kKeyValueBytes)
      .Text(CKA_LABEL, label)
      .Text(CKA_ID, kek_id)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true)
      .Bool(CKA_EXTRACTABLE, false)
      .Bool(CKA_WRAP, true)
      .Bool(CKA_UNWRAP, true)
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_SIGN, false)
      .Bool(CKA_VERIFY, false)
      .Bool(CKA_DERIVE, false);
  return t;
}

Attributes SessionKeyTemplate(WrappedKeyType type, bool with_length) {
  Attributes t;
  t.Ulong(CKA_CLASS, CKO_SECRET_KEY)
      .Ulong(CKA_KEY_TYPE, KeyTypeOf(type))
      .Bool(CKA_TOKEN, false)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, false)
      .Bool(CKA_EXTRACTABLE, true);
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
      .Bool(CKA_VERIFY, true);
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
      .Bool(CKA_SIGN, true)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_DERIVE, false)
      .Bool(CKA_UNWRAP, false);
  return t;
}

}  // namespace strongroom::crypto

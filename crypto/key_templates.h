// crypto/key_templates.h — the PKCS#11 attribute templates of every object
// Strongroom creates in the token, in one place, so a reviewer reads every
// attribute of every key here and tests create objects with exactly these.
// Private to crypto/.
//
// Thread-safety: pure functions returning new values.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string_view>

#include "crypto/kek.h"
#include "crypto/pkcs11_objects.h"

namespace strongroom::crypto {

// kKeyValueBytes is the length of a KEK, a data key and the record-MAC key.
inline constexpr CK_ULONG kKeyValueBytes = 32;

// KekTemplate is the template of a new KEK (C_GenerateKey, CKM_AES_KEY_GEN).
// SECURITY: a token object, private and sensitive, never extractable,
// usable only to wrap and unwrap (SPEC section 4), neither modifiable nor
// copyable.
Attributes KekTemplate(std::string_view kek_id, std::string_view label);

// SessionKeyTemplate is the template of a transient copy of a data or MAC
// key: C_GenerateKey (with_length: CKA_VALUE_LEN is given) or C_UnwrapKey
// (the length comes from the wrapped bytes). A session object (gone with
// the session), extractable and not sensitive so it can be wrapped and its
// CKA_VALUE read.
// SECURITY: every usage attribute (encrypt, decrypt, wrap, unwrap, sign,
// verify, derive) is false and it cannot be copied: while it exists the
// token can do nothing with it but wrap it under a KEK.
Attributes SessionKeyTemplate(WrappedKeyType type, bool with_length);

// AuditPublicKeyTemplate and AuditPrivateKeyTemplate are the two halves of
// the audit signing key pair (C_GenerateKeyPair, CKM_EC_KEY_PAIR_GEN, P-256).
// SECURITY: the private key is sensitive, never extractable, may only sign
// (not sign-recover, decrypt, unwrap or derive) and can be neither copied
// nor modified; the public key may only verify.
Attributes AuditPublicKeyTemplate();
Attributes AuditPrivateKeyTemplate();

// EscrowableKekTemplate is KekTemplate for a store with M-of-N escrow
// (crypto/escrow.h): the same key, except CKA_EXTRACTABLE true and
// CKA_WRAP_WITH_TRUSTED true.
// SECURITY: with CKA_WRAP_WITH_TRUSTED (which cannot be turned off) the
// token wraps it only under a CKA_TRUSTED key, which only the security
// officer can make; it stays sensitive, so its value is never readable.
Attributes EscrowableKekTemplate(std::string_view kek_id, std::string_view label);

// RecoveredKekTemplate is KekTemplate for C_CreateObject of a KEK rebuilt
// from escrow, without CKA_VALUE_LEN (the caller appends CKA_VALUE).
// SECURITY: non-extractable, wrap/unwrap only, as a generated KEK.
Attributes RecoveredKekTemplate(std::string_view kek_id, std::string_view label);

// TrustedEscrowKeyTemplate is the escrow key's public half as the security
// officer imports it (C_CreateObject, CKK_RSA).
// SECURITY: CKA_TRUSTED true (only an SO session may set it), a public token
// object (CKA_PRIVATE false: an SO session writes only public objects),
// usable only to wrap; neither modifiable nor copyable.
Attributes TrustedEscrowKeyTemplate(std::string_view id, std::string_view label, ByteSpan modulus,
                                    ByteSpan public_exponent);

}  // namespace strongroom::crypto

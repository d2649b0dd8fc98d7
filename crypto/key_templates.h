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

}  // namespace strongroom::crypto

// crypto/crypto.h — Strongroom's key hierarchy. Read this first.
//
// The files follow a decrypt from the token outwards:
//   token.h              the PKCS#11 token (p11-kit, URI, PIN file, session
//                        pool that survives lost sessions and devices)
//   kek.h                KEKs inside the token; wrap, unwrap, re-wrap
//   audit_signing_key.h  the token's EC P-256 audit key pair
//   trust_anchor.h       the audit log's and store's anchor, held in the token
//   token_service.h      TokenService: the operations the appliance needs
//                        from its token, local or through `strongroom tokend`
//   keyring.h            current KEK, record-MAC key, data keys per
//                        namespace and UTC day, cache, rotation
//   envelope.h           AES-256-GCM envelopes bound to their record
//   record_mac.h         the authenticator storage/ uses for every record
//   password_hash.h      scrypt password hashes for user accounts
//   pin_file.h           reading the PIN (or another secret) from an owner-only file
//   escrow.h             opt-in M-of-N escrow of the KEKs under an SO-trusted
//                        key, and recovery into a new token (issue 22)
//
// crypto/ depends on base/ and storage/ (for the keyring's rows); it knows
// nothing of HTTP or JSON.
#pragma once

#include "crypto/audit_signing_key.h"
#include "crypto/envelope.h"
#include "crypto/escrow.h"
#include "crypto/kek.h"
#include "crypto/keyring.h"
#include "crypto/password_hash.h"
#include "crypto/pin_file.h"
#include "crypto/record_mac.h"
#include "crypto/token.h"
#include "crypto/token_service.h"
#include "crypto/trust_anchor.h"

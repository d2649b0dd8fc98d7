// crypto/escrow_key.h — private to crypto/escrow*.cc: turning a rebuilt
// escrow private key back into a key pair.
#pragma once

#include "crypto/escrow.h"

namespace strongroom::crypto {

// CompleteEscrowKeyPair parses `private_key_der` (PKCS#8, RSA-3072) and
// derives its public half and fingerprint. kIntegrityError when the bytes
// are not such a key (too few or altered shares).
StatusOr<EscrowKeyPair> CompleteEscrowKeyPair(SecretBytes private_key_der);

}  // namespace strongroom::crypto

// crypto/password_hash.h — password hashing for user accounts (SPEC
// section 4): scrypt with N=2^15, r=8, p=1, a 16-byte random salt and a
// 32-byte output, stored with its parameters so they can be raised later.
//
// Encoded form: "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>". A check
// costs ~80 ms and ~38 MB here, deliberately: callers bound concurrency.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

// HashPassword returns the encoded hash of `password`.
StatusOr<std::string> HashPassword(const SecretBytes& password);

// DecoyPasswordHash returns an encoded hash that no password matches (but
// with probability 2^-256), for checks of unknown users: the current
// parameters, a random salt and a random 32-byte value in place of the
// scrypt output, so VerifyPassword against it does exactly the work of a
// check against a real hash. Computing it runs no scrypt (issue 19: the
// start-up no longer pays for one). kInternal when the random source fails.
// SECURITY: the value is random rather than scrypt's output, which nobody
// can tell without the password; it must stay private to the process.
StatusOr<std::string> DecoyPasswordHash();

// VerifyPassword returns true when `password` matches `encoded` (compared in
// constant time); kInvalidArgument for a malformed encoding.
StatusOr<bool> VerifyPassword(const SecretBytes& password, std::string_view encoded);

}  // namespace strongroom::crypto

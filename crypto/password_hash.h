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

// VerifyPassword returns true when `password` matches `encoded` (compared in
// constant time); kInvalidArgument for a malformed encoding.
StatusOr<bool> VerifyPassword(const SecretBytes& password, std::string_view encoded);

}  // namespace strongroom::crypto

// crypto/aes_gcm.h — the AES-256-GCM primitive behind envelope.cc (OpenSSL
// EVP), exposed for the NIST vector tests and the benchmark. Private to
// crypto/: every other module seals and opens values through envelope.h,
// which draws the nonce and builds the AAD itself.
//
// Thread-safety: the functions are thread-safe. Each thread keeps one cipher
// context for 96-bit IVs and re-keys it per call (allocating and freeing
// OpenSSL's state per call is a measurable part of a 1 KiB decrypt); other IV
// lengths get a context of their own per call.
// SECURITY: after a successful call the thread's context still holds that
// call's AES key schedule in OpenSSL's heap, outside the secure arena, until
// the thread's next call or its exit (see CipherContext in aes_gcm.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

inline constexpr std::size_t kAesGcmKeyBytes = 32;
// kAesGcmStandardIvBytes is the 96-bit IV that NIST SP 800-38D recommends and
// envelopes use; it is the fast path.
inline constexpr std::size_t kAesGcmStandardIvBytes = 12;
// GCM's own IV bound in OpenSSL (1024 bits).
inline constexpr std::size_t kAesGcmMaxIvBytes = 128;
inline constexpr std::size_t kAesGcmMinTagBytes = 4;
inline constexpr std::size_t kAesGcmMaxTagBytes = 16;

// AesGcmEncryptRaw encrypts `plaintext` under `key` (32 bytes) and `iv`
// (1..128 bytes) with AES-256-GCM, authenticating `aad`. It writes the
// ciphertext to `ciphertext_out` and the tag to `tag_out`; the size of
// `tag_out` (4..16 bytes) is the tag length. Returns kInvalidArgument for a
// wrong key, IV or tag size, a `ciphertext_out` whose size differs from the
// plaintext's, or an input above INT_MAX bytes; kInternal when OpenSSL fails.
// On error the outputs hold no plaintext-derived bytes worth keeping and
// must be discarded.
// SECURITY: raw primitive: the caller owns nonce uniqueness, and a repeated
// (key, iv) pair breaks both confidentiality and authenticity. Only
// envelope.cc (which draws a fresh random nonce per envelope), the vector
// tests and the benchmark call it.
Status AesGcmEncryptRaw(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext,
                        std::span<std::uint8_t> ciphertext_out, std::span<std::uint8_t> tag_out);

// AesGcmDecryptRaw decrypts `ciphertext` under `key` (32 bytes) and `iv`
// (1..128 bytes), checking `tag` (4..16 bytes) over `aad` and the
// ciphertext. Returns the plaintext in the secure arena. Returns
// kIntegrityError when the tag does not verify; kInvalidArgument for a
// wrong key, IV or tag size or an input above INT_MAX bytes;
// kResourceExhausted (or kFailedPrecondition) from the arena; kInternal when
// OpenSSL fails.
// SECURITY: OpenSSL writes plaintext before it checks the tag, so the output
// is wiped and released unless the tag verifies: a failed call returns no
// byte of plaintext and leaves no arena block allocated.
// REQUIRES: the tag length is fixed by the caller's format, never taken from
// the input (a 4-byte tag is only 32 bits of authenticity).
StatusOr<SecretBytes> AesGcmDecryptRaw(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan ciphertext,
                                       ByteSpan tag);

}  // namespace strongroom::crypto

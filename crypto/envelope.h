// crypto/envelope.h — AES-256-GCM envelopes: the last step of the key
// hierarchy (token -> KEK -> data key -> envelope).
//
// An envelope is a versioned, self-describing byte string:
//   u8  format version (1)
//   u8  algorithm (1 = AES-256-GCM)
//   u16 length of the data-key id, then the id (1..128 bytes, [A-Za-z0-9._-])
//   12  nonce (fresh, random, per envelope)
//   u32 ciphertext length (<= kMaxEnvelopePlaintext), then the ciphertext
//   16  GCM tag
// and nothing after. The AAD is not stored: it is rebuilt from the
// EnvelopeContext, which binds format version, algorithm, namespace, name,
// the record's uid, its generation and the data-key id (each
// length-prefixed, so no two contexts share an encoding). SECURITY: a
// ciphertext moved to another record, namespace or name, or an older value of
// the same record put back (lower generation), fails to open.
// Thread-safety: the functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

inline constexpr std::uint8_t kEnvelopeVersion = 1;
inline constexpr std::uint8_t kEnvelopeAlgorithmAes256Gcm = 1;
inline constexpr std::size_t kEnvelopeNonceBytes = 12;
inline constexpr std::size_t kEnvelopeTagBytes = 16;
inline constexpr std::size_t kMaxDataKeyIdBytes = 128;
// kMaxEnvelopePlaintext bounds what the parser accepts (1 MiB); the API's own
// value limit is far lower.
inline constexpr std::size_t kMaxEnvelopePlaintext = 1u << 20;

// EnvelopeContext is what an envelope is bound to (its AAD). The views must
// stay valid for the call.
struct EnvelopeContext {
  std::string_view namespace_name;
  std::string_view name;
  std::string_view uid;
  std::uint64_t generation = 0;
  std::string_view data_key_id;
};

// EnvelopeView is a parsed envelope: views into the bytes it was parsed
// from, which must outlive it and stay unchanged. Parsing once and opening
// the view does not parse again (a decrypt parses its envelope once).
struct EnvelopeView {
  std::uint8_t version = 0;
  std::uint8_t algorithm = 0;
  std::string_view data_key_id;
  ByteSpan nonce;
  ByteSpan ciphertext;
  ByteSpan tag;
};

// EnvelopeHeader is what ParseEnvelope learns without any key.
struct EnvelopeHeader {
  std::uint8_t version = 0;
  std::uint8_t algorithm = 0;
  std::string data_key_id;
  std::size_t ciphertext_size = 0;
};

// SealEnvelope encrypts `plaintext` under `data_key` (32 bytes) with a fresh
// random nonce. Returns kInvalidArgument for a wrong key size, an invalid
// data-key id or a plaintext above kMaxEnvelopePlaintext; kInternal when
// OpenSSL fails. SECURITY: the caller never picks the nonce; the caller must
// count encryptions per data key (the keyring retires a key before 2^31).
StatusOr<Bytes> SealEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                             ByteSpan plaintext);

// OpenEnvelope decrypts and authenticates. Returns kIntegrityError when the
// envelope is malformed, truncated, over-long, names another data key than
// context.data_key_id, or its tag does not verify; the partially decrypted
// output is wiped before returning. kResourceExhausted when the secure arena
// is full; kInternal when OpenSSL itself fails.
StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                                   ByteSpan envelope);

// OpenEnvelope for an envelope parsed already by ParseEnvelopeView: the
// same checks and errors, without parsing it again.
StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                                   const EnvelopeView& envelope);

// ParseEnvelopeView checks the structure as ParseEnvelope does and returns
// views into `envelope` (no allocation): kIntegrityError on any defect.
StatusOr<EnvelopeView> ParseEnvelopeView(ByteSpan envelope);

// ParseEnvelope checks the structure (lengths, version, algorithm, id
// charset, no trailing bytes) and returns the header: kIntegrityError on any
// defect.
StatusOr<EnvelopeHeader> ParseEnvelope(ByteSpan envelope);

}  // namespace strongroom::crypto

#include "crypto/envelope.h"

#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "base/openssl_ptr.h"
#include "crypto/aes_gcm.h"

namespace strongroom::crypto {
namespace {

constexpr std::size_t kKeyBytes = 32;
// Fixed part: version, algorithm, id length, nonce, ciphertext length, tag.
constexpr std::size_t kFixedBytes = 1 + 1 + 2 + kEnvelopeNonceBytes + 4 + kEnvelopeTagBytes;
// Domain separation: these AAD bytes can never be taken for another of our
// formats.
constexpr std::string_view kAadDomain = "strongroom.envelope";

// kDataKeyIdChars marks the bytes a data-key id may hold: [A-Za-z0-9._-].
constexpr std::array<bool, 256> kDataKeyIdChars = [] {
  std::array<bool, 256> allowed{};
  for (int c = 'a'; c <= 'z'; ++c) allowed[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) allowed[c] = true;
  for (int c = '0'; c <= '9'; ++c) allowed[c] = true;
  allowed['.'] = allowed['_'] = allowed['-'] = true;
  return allowed;
}();

bool ValidDataKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDataKeyIdBytes) return false;
  for (char c : id) {
    if (!kDataKeyIdChars[static_cast<std::uint8_t>(c)]) return false;
  }
  return true;
}

// Aad is the encoded EnvelopeContext:
//   "strongroom.envelope" u8 version u8 algorithm
//   u32+namespace u32+name u32+uid u64 generation u32+data key id
// Every variable-length field is length-prefixed so distinct contexts never
// share an encoding. Contexts up to kInlineBytes (names of a few hundred
// bytes) are encoded on the stack: a heap allocation per open was a
// measurable part of a 1 KiB decrypt. Longer ones spill to the heap.
class Aad {
 public:
  explicit Aad(const EnvelopeContext& c) {
    size_ = kAadDomain.size() + 1 + 1 + 4 + c.namespace_name.size() + 4 + c.name.size() + 4 +
            c.uid.size() + 8 + 4 + c.data_key_id.size();
    data_ = inline_.data();
    if (size_ > inline_.size()) {
      spill_.resize(size_);
      data_ = spill_.data();
    }
    std::uint8_t* p = data_;
    p = PutRaw(p, kAadDomain);
    *p++ = kEnvelopeVersion;
    *p++ = kEnvelopeAlgorithmAes256Gcm;
    p = PutString32(p, c.namespace_name);
    p = PutString32(p, c.name);
    p = PutString32(p, c.uid);
    p = PutBigEndian(p, c.generation, 8);
    PutString32(p, c.data_key_id);
  }
  Aad(const Aad&) = delete;
  Aad& operator=(const Aad&) = delete;

  ByteSpan span() const { return {data_, size_}; }

 private:
  static constexpr std::size_t kInlineBytes = 512;

  static std::uint8_t* PutRaw(std::uint8_t* p, std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  static std::uint8_t* PutBigEndian(std::uint8_t* p, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) *p++ = static_cast<std::uint8_t>(v >> (8 * i));
    return p;
  }
  static std::uint8_t* PutString32(std::uint8_t* p, std::string_view s) {
    return PutRaw(PutBigEndian(p, s.size(), 4), s);
  }

  std::array<std::uint8_t, kInlineBytes> inline_;
  Bytes spill_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

Status Malformed(std::string_view what) {
  return Status::IntegrityError("malformed envelope: " + std::string(what));
}

using ParsedEnvelope = EnvelopeView;

std::uint32_t ReadU32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Parse reads the layout of envelope.h. Each length is checked against the
// bytes present before anything behind it is read, and the envelope must end
// exactly after the tag. (Offsets rather than ByteReader: the reader's
// StatusOr per field was a measurable part of a 1 KiB open.)
StatusOr<ParsedEnvelope> Parse(ByteSpan envelope) {
  const std::size_t size = envelope.size();
  const std::uint8_t* in = envelope.data();
  if (size < kFixedBytes + 1) return std::unexpected(Malformed("too short"));
  ParsedEnvelope p;
  p.version = in[0];
  if (p.version != kEnvelopeVersion) return std::unexpected(Malformed("unknown version"));
  p.algorithm = in[1];
  if (p.algorithm != kEnvelopeAlgorithmAes256Gcm) {
    return std::unexpected(Malformed("unknown algorithm"));
  }
  const std::size_t id_size = std::size_t{in[2]} << 8 | in[3];
  // kFixedBytes counts every fixed field, so this covers the id, the nonce
  // and the ciphertext length field.
  if (size - kFixedBytes < id_size) return std::unexpected(Malformed("truncated data key id"));
  std::size_t at = 4;
  p.data_key_id = AsChars(envelope.subspan(at, id_size));
  if (!ValidDataKeyId(p.data_key_id)) return std::unexpected(Malformed("invalid data key id"));
  at += id_size;
  p.nonce = envelope.subspan(at, kEnvelopeNonceBytes);
  at += kEnvelopeNonceBytes;
  const std::size_t ciphertext_size = ReadU32(in + at);
  at += 4;
  if (ciphertext_size > kMaxEnvelopePlaintext) {
    return std::unexpected(Malformed("ciphertext over the length limit"));
  }
  // What is left must be the ciphertext and the tag, nothing less or more.
  if (size - at < ciphertext_size + kEnvelopeTagBytes) {
    return std::unexpected(Malformed("truncated ciphertext or tag"));
  }
  if (size - at > ciphertext_size + kEnvelopeTagBytes) {
    return std::unexpected(Malformed("trailing bytes"));
  }
  p.ciphertext = envelope.subspan(at, ciphertext_size);
  p.tag = envelope.subspan(at + ciphertext_size, kEnvelopeTagBytes);
  return p;
}

}  // namespace

StatusOr<EnvelopeView> ParseEnvelopeView(ByteSpan envelope) { return Parse(envelope); }

StatusOr<EnvelopeHeader> ParseEnvelope(ByteSpan envelope) {
  SR_ASSIGN_OR_RETURN(ParsedEnvelope parsed, Parse(envelope));
  EnvelopeHeader header;
  header.version = parsed.version;
  header.algorithm = parsed.algorithm;
  header.data_key_id = std::string(parsed.data_key_id);
  header.ciphertext_size = parsed.ciphertext.size();
  return header;
}

StatusOr<Bytes> SealEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                             ByteSpan plaintext) {
  if (data_key.size() != kKeyBytes) {
    return std::unexpected(Status::InvalidArgument("data key must be 32 bytes"));
  }
  if (!ValidDataKeyId(context.data_key_id)) {
    return std::unexpected(Status::InvalidArgument("invalid data key id"));
  }
  if (plaintext.size() > kMaxEnvelopePlaintext) {
    return std::unexpected(Status::InvalidArgument("plaintext too large for an envelope"));
  }

  ByteWriter w;
  w.bytes().reserve(kFixedBytes + context.data_key_id.size() + plaintext.size());
  w.U8(kEnvelopeVersion);
  w.U8(kEnvelopeAlgorithmAes256Gcm);
  w.Str16(context.data_key_id);
  std::size_t nonce_at = w.bytes().size();
  w.bytes().resize(nonce_at + kEnvelopeNonceBytes);
  // SECURITY: a fresh random 96-bit nonce per envelope; with the keyring
  // retiring a data key before 2^31 envelopes the collision probability
  // stays below NIST SP 800-38D's 2^-32 bound.
  if (RAND_bytes(w.bytes().data() + nonce_at, kEnvelopeNonceBytes) != 1) {
    return std::unexpected(OpenSslError("RAND_bytes"));
  }
  w.U32(static_cast<std::uint32_t>(plaintext.size()));
  std::size_t ciphertext_at = w.bytes().size();
  w.bytes().resize(ciphertext_at + plaintext.size() + kEnvelopeTagBytes);
  std::span<std::uint8_t> out(w.bytes());

  Aad aad(context);
  SR_RETURN_IF_ERROR(AesGcmEncryptRaw(
      data_key.RevealSecret(), out.subspan(nonce_at, kEnvelopeNonceBytes), aad.span(), plaintext,
      out.subspan(ciphertext_at, plaintext.size()), out.subspan(ciphertext_at + plaintext.size())));
  return w.Take();
}

StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                                   ByteSpan envelope) {
  if (data_key.size() != kKeyBytes) {
    return std::unexpected(Status::InvalidArgument("data key must be 32 bytes"));
  }
  SR_ASSIGN_OR_RETURN(ParsedEnvelope parsed, Parse(envelope));
  return OpenEnvelope(data_key, context, parsed);
}

StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& data_key, const EnvelopeContext& context,
                                   const EnvelopeView& parsed) {
  if (data_key.size() != kKeyBytes) {
    return std::unexpected(Status::InvalidArgument("data key must be 32 bytes"));
  }
  if (parsed.data_key_id != context.data_key_id) {
    return std::unexpected(Status::IntegrityError("envelope names another data key"));
  }
  Aad aad(context);
  // The primitive wipes and releases the partially decrypted output unless
  // the tag verifies.
  StatusOr<SecretBytes> plaintext = AesGcmDecryptRaw(data_key.RevealSecret(), parsed.nonce,
                                                     aad.span(), parsed.ciphertext, parsed.tag);
  if (!plaintext.has_value() && plaintext.error().code() == StatusCode::kIntegrityError) {
    return std::unexpected(Status::IntegrityError("envelope failed authentication"));
  }
  return plaintext;
}

}  // namespace strongroom::crypto

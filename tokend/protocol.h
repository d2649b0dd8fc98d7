// tokend/protocol.h — the wire format between the appliance and
// `strongroom tokend` (private to tokend/; docs/tokend.md has the table).
//
// A frame is a 4-byte big-endian length L (1 <= L <= kMaxFrameBytes) and L
// bytes: a request's first byte is its Op, a response's first byte is a
// StatusCode (0: OK); then fields, each a 2-byte big-endian length and
// that many bytes. A small number (a key type, a boolean) is a one-byte
// field. Nothing else: no optional fields, no trailing bytes. A frame that
// does not parse exactly as its op says closes the connection.
//
// SECURITY: the only plaintext key material on the wire is the data key in
// the answer to kUnwrapKey and kGenerateWrappedKey; both ends build and read
// those frames in SecretBytes (locked, wiped). Error messages are the token
// layer's own, which never carry key material.
// Thread-safety: functions are pure; a FieldReader or FrameBuilder is used
// by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::tokend {

inline constexpr std::size_t kMaxFrameBytes = 64 * 1024;
// The largest frame that can carry key material (kUnwrapKey's and
// kGenerateWrappedKey's answers): read into SecretBytes, so kept small.
inline constexpr std::size_t kMaxSecretFrameBytes = 1024;
inline constexpr std::size_t kMaxIdBytes = 128;        // a KEK id
inline constexpr std::size_t kMaxWrappedBytes = 512;   // a wrapped key (an escrowed KEK: 384)
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;  // a checkpoint to sign
inline constexpr std::size_t kMaxAnchorBytes = 4096;   // an encoded trust anchor
inline constexpr std::size_t kMaxErrorBytes = 512;     // an error message
inline constexpr std::size_t kMaxKekCount = 256;       // ids in a kListKekIds answer

enum class Op : std::uint8_t {
  kProbe = 1,               // () -> (label)
  kGenerateKek = 2,         // (kek_id) -> ()
  kKekExists = 3,           // (kek_id) -> (bool)
  kListKekIds = 4,          // () -> (count u16 as 2-byte field, id...)
  kGenerateWrappedKey = 5,  // (kek_id, type) -> (wrapped, plaintext)   SECRET
  kUnwrapKey = 6,           // (kek_id, type, wrapped) -> (plaintext)   SECRET
  kRewrapKey = 7,           // (from, to, type, wrapped) -> (wrapped)
  kEnsureAuditKeyPair = 8,  // () -> (bool created)
  kGetAuditPublicKey = 9,   // () -> (pem, der, fingerprint)
  kSignWithAuditKey = 10,   // (message) -> (64-byte r||s)
  kReadTrustAnchor = 11,    // (node) -> (bool present, anchor text or empty)
  kWriteTrustAnchor = 12,   // (anchor text, node) -> ()
  kReplaceTrustAnchor = 13, // (anchor text, node) -> ()
  kGenerateEscrowableKek = 14,  // (kek_id, escrow key fingerprint) -> (wrapped under it)
};
inline constexpr std::uint8_t kMaxOp = 14;

// CarriesSecret says whether `op`'s OK answer holds key material.
bool CarriesSecret(Op op);

// IsKekId accepts 1..kMaxIdBytes of [A-Za-z0-9._-] (the ids NewKeyId makes).
bool IsKekId(std::string_view id);

// FrameBuilder assembles one frame (length prefix included) in a plain
// buffer, or, with Secret(), measures it so it can be written into
// SecretBytes. Fields past kMaxFrameBytes make Finish fail.
class FrameBuilder {
 public:
  explicit FrameBuilder(std::uint8_t head) { Add(&head, 1, /*field=*/false); }
  FrameBuilder& Field(ByteSpan bytes) { return Add(bytes.data(), bytes.size(), true); }
  FrameBuilder& Field(std::string_view text) {
    return Add(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), true);
  }
  FrameBuilder& Byte(std::uint8_t value) { return Add(&value, 1, true); }
  // Finish returns the frame; kInvalidArgument when a field or the frame
  // is too long.
  StatusOr<Bytes> Finish() const;

  // SecretFrame builds a frame whose last field is `secret` directly in
  // SecretBytes, so the plaintext is never copied into a plain buffer.
  static StatusOr<SecretBytes> SecretFrame(const FrameBuilder& head, const SecretBytes& secret);

 private:
  FrameBuilder& Add(const std::uint8_t* data, std::size_t size, bool field);
  Bytes body_;
  bool too_long_ = false;
};

// FieldReader reads a frame's body (after the length) strictly. Every
// accessor fails (and stays failed) on a short, long or out-of-bound field;
// End fails unless every byte was read.
class FieldReader {
 public:
  explicit FieldReader(ByteSpan body) : rest_(body) {}
  // Head returns the first byte (op or status code).
  bool Head(std::uint8_t* out);
  // Field reads one field of min..max bytes; the span borrows the body.
  bool Field(std::size_t min, std::size_t max, ByteSpan* out);
  bool Text(std::size_t min, std::size_t max, std::string* out);
  bool Byte(std::uint8_t* out);
  bool Bool(bool* out);
  bool End() const { return ok_ && rest_.empty(); }
  bool ok() const { return ok_; }

 private:
  ByteSpan rest_;
  bool ok_ = true;
};

// ReadFrame reads one frame from `fd` into `out` (its body, without the
// length): kUnavailable on EOF or an I/O error, kInvalidArgument when the
// length is 0 or above `max_bytes` (the connection must then be closed).
Status ReadFrame(int fd, std::size_t max_bytes, Bytes* out);
// ReadSecretFrame is ReadFrame into SecretBytes.
Status ReadSecretFrame(int fd, std::size_t max_bytes, SecretBytes* out);
// WriteAll writes the whole buffer: kUnavailable on an I/O error.
Status WriteAll(int fd, ByteSpan bytes);

}  // namespace strongroom::tokend

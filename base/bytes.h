// base/bytes.h — byte-string helpers shared by the binary formats of crypto/
// (envelopes) and storage/ (records): big-endian integers, length-prefixed
// fields, hex. A ByteReader never reads past its input: every accessor
// returns an error instead. Thread-safety: values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace strongroom {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// HexEncode returns lower-case hex.
std::string HexEncode(ByteSpan bytes);
// HexDecode returns kInvalidArgument for odd length or a non-hex character.
StatusOr<Bytes> HexDecode(std::string_view hex);

// ByteWriter appends big-endian fields to a growing buffer.
class ByteWriter {
 public:
  void U8(std::uint8_t v) { out_.push_back(v); }
  void U16(std::uint16_t v);
  void U32(std::uint32_t v);
  void U64(std::uint64_t v);
  void Raw(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // Str16/Str32 write a u16/u32 length then the bytes. REQUIRES: it fits.
  void Str16(std::string_view s);
  void Str32(ByteSpan b);
  Bytes& bytes() { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// ByteReader consumes fields from a span; every read checks bounds and
// returns kInvalidArgument (naming `what`) when the input is too short.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan in) : in_(in) {}
  StatusOr<std::uint8_t> U8(std::string_view what);
  StatusOr<std::uint16_t> U16(std::string_view what);
  StatusOr<std::uint32_t> U32(std::string_view what);
  StatusOr<std::uint64_t> U64(std::string_view what);
  StatusOr<ByteSpan> Raw(std::size_t n, std::string_view what);
  StatusOr<std::string> Str16(std::string_view what);
  // Str32 REQUIRES the length to be at most `max`, else kInvalidArgument.
  StatusOr<ByteSpan> Str32(std::string_view what, std::size_t max);
  std::size_t remaining() const { return in_.size() - pos_; }
  // ExpectEnd returns kInvalidArgument when bytes are left over.
  Status ExpectEnd(std::string_view what) const;

 private:
  ByteSpan in_;
  std::size_t pos_ = 0;
};

// DecodeStored parses one stored row: runs `decode(reader, out)`, requires
// the whole input to be consumed, and reports any defect as kIntegrityError
// "malformed <what>: <detail>" (stored bytes are only malformed when
// something other than Strongroom wrote them).
template <typename T, typename Decode>
StatusOr<T> DecodeStored(ByteSpan bytes, std::string_view what, Decode decode) {
  ByteReader reader(bytes);
  T out{};
  Status status = decode(reader, out);
  if (status.ok()) status = reader.ExpectEnd(what);
  if (!status.ok()) {
    return std::unexpected(
        Status::IntegrityError("malformed " + std::string(what) + ": " + status.message()));
  }
  return out;
}

}  // namespace strongroom

#include "base/bytes.h"

namespace strongroom {

std::string HexEncode(ByteSpan bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  // Sized once and written in place: push_back checks the capacity for
  // every digit, and a chain hash is encoded for every audit record.
  std::string out(bytes.size() * 2, '\0');
  char* digit = out.data();
  for (std::uint8_t b : bytes) {
    *digit++ = kDigits[b >> 4];
    *digit++ = kDigits[b & 0xf];
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::unexpected(Status::InvalidArgument("hex string has odd length"));
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::unexpected(Status::InvalidArgument("hex string has a non-hex character"));
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

void ByteWriter::U16(std::uint16_t v) {
  U8(static_cast<std::uint8_t>(v >> 8));
  U8(static_cast<std::uint8_t>(v));
}
void ByteWriter::U32(std::uint32_t v) {
  U16(static_cast<std::uint16_t>(v >> 16));
  U16(static_cast<std::uint16_t>(v));
}
void ByteWriter::U64(std::uint64_t v) {
  U32(static_cast<std::uint32_t>(v >> 32));
  U32(static_cast<std::uint32_t>(v));
}
void ByteWriter::Str16(std::string_view s) {
  U16(static_cast<std::uint16_t>(s.size()));
  Raw(AsBytes(s));
}
void ByteWriter::Str32(ByteSpan b) {
  U32(static_cast<std::uint32_t>(b.size()));
  Raw(b);
}

StatusOr<ByteSpan> ByteReader::Raw(std::size_t n, std::string_view what) {
  if (remaining() < n) {
    return std::unexpected(Status::InvalidArgument("truncated input: " + std::string(what)));
  }
  ByteSpan out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

StatusOr<std::uint8_t> ByteReader::U8(std::string_view what) {
  SR_ASSIGN_OR_RETURN(ByteSpan b, Raw(1, what));
  return b[0];
}
StatusOr<std::uint16_t> ByteReader::U16(std::string_view what) {
  SR_ASSIGN_OR_RETURN(ByteSpan b, Raw(2, what));
  return static_cast<std::uint16_t>(b[0] << 8 | b[1]);
}
StatusOr<std::uint32_t> ByteReader::U32(std::string_view what) {
  SR_ASSIGN_OR_RETURN(ByteSpan b, Raw(4, what));
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}
StatusOr<std::uint64_t> ByteReader::U64(std::string_view what) {
  SR_ASSIGN_OR_RETURN(std::uint32_t hi, U32(what));
  SR_ASSIGN_OR_RETURN(std::uint32_t lo, U32(what));
  return std::uint64_t{hi} << 32 | lo;
}
StatusOr<std::string> ByteReader::Str16(std::string_view what) {
  SR_ASSIGN_OR_RETURN(std::uint16_t n, U16(what));
  SR_ASSIGN_OR_RETURN(ByteSpan b, Raw(n, what));
  return std::string(AsChars(b));
}
StatusOr<ByteSpan> ByteReader::Str32(std::string_view what, std::size_t max) {
  SR_ASSIGN_OR_RETURN(std::uint32_t n, U32(what));
  if (n > max) {
    return std::unexpected(Status::InvalidArgument("over-long field: " + std::string(what)));
  }
  return Raw(n, what);
}
Status ByteReader::ExpectEnd(std::string_view what) const {
  if (remaining() != 0) return Status::InvalidArgument("trailing bytes after " + std::string(what));
  return Status::Ok();
}

}  // namespace strongroom

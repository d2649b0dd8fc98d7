#include "base/json_text.h"

#include <cstdint>
#include <cstring>

#include "base/utf8.h"

namespace strongroom {
namespace {

// PlainWord tells whether none of the 8 bytes at `p` needs a look of its
// own: no control character, no '"', no '\\', nothing from 0x80 up. Names,
// hex digests and timestamps are such bytes only, and every audit record
// and decrypt answer is made of them, so they are skipped a word at a time
// (issue 19). The word-at-a-time zero-byte test: (v - 0x01..) & ~v & 0x80..
// is non-zero iff some byte of v is zero.
bool PlainWord(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  if (w & kHigh) return false;
  const auto has_zero = [](std::uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  // A byte below 0x20 is one whose top three bits are zero.
  if (has_zero(w & (0xE0 * kOnes))) return false;
  return !has_zero(w ^ ('"' * kOnes)) && !has_zero(w ^ ('\\' * kOnes));
}

// PlainPrefix is the length of `text`'s longest prefix of bytes that are
// copied as they are without a look at their neighbours (printable ASCII
// other than '"' and '\\').
std::size_t PlainPrefix(std::string_view text) {
  std::size_t i = 0;
  while (text.size() - i >= 8 && PlainWord(text.data() + i)) i += 8;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
    ++i;
  }
  return i;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::size_t i = PlainPrefix(text);
  if (i == text.size()) {
    // The common case (every member name, and most values): the quoted
    // text in one write, rather than four appends each checking capacity.
    // (libstdc++ 12 passes the operation the capacity, not the size asked
    // for: the size is computed here.)
    const std::size_t start = out.size(), size = start + text.size() + 2;
    out.resize_and_overwrite(size, [&](char* data, std::size_t) {
      char* at = data + start;
      *at++ = '"';
      if (!text.empty()) std::memcpy(at, text.data(), text.size());
      at[text.size()] = '"';
      return size;
    });
    return;
  }
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  while (i < text.size()) {
    if (text.size() - i >= 8 && PlainWord(text.data() + i)) {
      i += 8;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text, i);
      if (length > 0) {
        i += length;
        continue;
      }
    }
    out.append(text.substr(run, i - run));
    ++i;
    run = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x80) {
          out += kReplacement;
        } else {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0x0f]);
        }
    }
  }
  out.append(text.substr(run));
  out.push_back('"');
}

}  // namespace strongroom

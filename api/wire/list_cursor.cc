#include "api/wire/list_cursor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "base/openssl_ptr.h"

namespace strongroom::api {
namespace {

// kFormat versions the token layout: u8 format, str16 kind, str16 namespace,
// str16 last key, then the 32-byte MAC over everything before it.
constexpr std::uint8_t kFormat = 1;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxTokenLength = 1024;

Status InvalidToken() { return Status::InvalidArgument("invalid continue token"); }

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string ToBase64Url(ByteSpan bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // +1: EVP_EncodeBlock's NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

// FromBase64Url decodes unpadded base64url. It accepts only the canonical
// form (the one ToBase64Url produces), so no two tokens decode to the same
// bytes and every character of a token matters.
StatusOr<Bytes> FromBase64Url(std::string_view text) {
  if (!std::all_of(text.begin(), text.end(), IsBase64UrlChar)) {
    return std::unexpected(InvalidToken());
  }
  std::size_t padding = (4 - text.size() % 4) % 4;
  if (padding == 3) return std::unexpected(InvalidToken());
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  standard.append(padding, '=');
  Bytes out(standard.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(standard.data()),
                          static_cast<int>(standard.size()));
  if (n < 0 || static_cast<std::size_t>(n) < padding) {
    ClearOpenSslErrors();
    return std::unexpected(InvalidToken());
  }
  out.resize(static_cast<std::size_t>(n) - padding);  // EVP_DecodeBlock counts '=' as zeros
  if (ToBase64Url(out) != text) return std::unexpected(InvalidToken());
  return out;
}

}  // namespace

StatusOr<ListCursorCodec> ListCursorCodec::Create() {
  SR_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::Allocate(kKeyBytes));
  if (RAND_bytes(key.RevealMutableSecret().data(), static_cast<int>(kKeyBytes)) != 1) {
    return std::unexpected(OpenSslError("drawing the continue-token key"));
  }
  ListCursorCodec codec;
  codec.key_ = std::move(key);
  return codec;
}

StatusOr<ListCursorCodec> ListCursorCodec::WithKey(SecretBytes key) {
  if (key.size() != kKeyBytes) {
    return std::unexpected(Status::InvalidArgument("a continue-token key is 32 bytes"));
  }
  ListCursorCodec codec;
  codec.key_ = std::move(key);
  return codec;
}

bool ListCursorCodec::Mac(ByteSpan payload, std::span<std::uint8_t, kMacBytes> mac) const {
  unsigned int length = 0;
  std::span<const std::uint8_t> key = key_.RevealSecret();
  const unsigned char* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                     payload.data(), payload.size(), mac.data(), &length);
  if (result == nullptr || length != kMacBytes) {
    ClearOpenSslErrors();
    return false;
  }
  return true;
}

std::string ListCursorCodec::Encode(std::string_view kind, std::string_view namespace_name,
                                    std::string_view last_key) const {
  ByteWriter writer;
  writer.U8(kFormat);
  writer.Str16(kind);
  writer.Str16(namespace_name);
  writer.Str16(last_key);
  Bytes token = writer.Take();
  std::array<std::uint8_t, kMacBytes> mac{};
  // SECURITY: HMAC-SHA256 fails only when OpenSSL cannot allocate. Returning
  // an unauthenticated token is not an option, and an empty one would tell
  // the client the listing is complete, silently dropping records; so stop.
  if (!Mac(token, mac)) std::abort();
  token.insert(token.end(), mac.begin(), mac.end());
  return ToBase64Url(token);
}

StatusOr<std::string> ListCursorCodec::Decode(std::string_view token, std::string_view kind,
                                              std::string_view namespace_name) const {
  if (token.empty() || token.size() > kMaxTokenLength) return std::unexpected(InvalidToken());
  SR_ASSIGN_OR_RETURN(Bytes bytes, FromBase64Url(token));
  if (bytes.size() <= kMacBytes) return std::unexpected(InvalidToken());
  ByteSpan payload(bytes.data(), bytes.size() - kMacBytes);
  std::array<std::uint8_t, kMacBytes> expected{};
  if (!Mac(payload, expected) ||
      CRYPTO_memcmp(expected.data(), bytes.data() + payload.size(), kMacBytes) != 0) {
    return std::unexpected(InvalidToken());
  }
  // The MAC verified, so these bytes were written by Encode under this key;
  // the checks below still fail closed on any surprise.
  ByteReader reader(payload);
  StatusOr<std::uint8_t> format = reader.U8("format");
  StatusOr<std::string> token_kind = reader.Str16("kind");
  StatusOr<std::string> token_namespace = reader.Str16("namespace");
  StatusOr<std::string> last_key = reader.Str16("last key");
  if (!format.has_value() || *format != kFormat || !token_kind.has_value() ||
      !token_namespace.has_value() || !last_key.has_value() || reader.remaining() != 0 ||
      *token_kind != kind || *token_namespace != namespace_name) {
    return std::unexpected(InvalidToken());
  }
  return std::move(*last_key);
}

}  // namespace strongroom::api

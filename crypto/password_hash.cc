#include "crypto/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "base/bytes.h"
#include "base/openssl_ptr.h"

namespace strongroom::crypto {
namespace {

constexpr unsigned kLogN = 15;
constexpr std::uint64_t kR = 8, kP = 1;
constexpr std::size_t kSaltBytes = 16, kHashBytes = 32;
constexpr std::uint64_t kMaxMem = 64u << 20;

Status Scrypt(const SecretBytes& password, ByteSpan salt, unsigned log_n, std::uint64_t r,
              std::uint64_t p, std::uint8_t* out, std::size_t out_len) {
  auto pw = password.RevealSecret();
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(pw.data()), pw.size(), salt.data(), salt.size(),
                     std::uint64_t{1} << log_n, r, p, kMaxMem, out, out_len) != 1) {
    return OpenSslError("scrypt");
  }
  return Status::Ok();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Encode returns the stored form of a hash with the current parameters.
std::string Encode(ByteSpan salt, ByteSpan hash) {
  return "scrypt$" + std::to_string(kLogN) + "$" + std::to_string(kR) + "$" + std::to_string(kP) +
         "$" + HexEncode(salt) + "$" + HexEncode(hash);
}

}  // namespace

StatusOr<std::string> HashPassword(const SecretBytes& password) {
  std::uint8_t salt[kSaltBytes], hash[kHashBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return std::unexpected(OpenSslError("RAND_bytes"));
  SR_RETURN_IF_ERROR(Scrypt(password, ByteSpan(salt, sizeof salt), kLogN, kR, kP, hash, sizeof hash));
  return Encode(ByteSpan(salt, sizeof salt), ByteSpan(hash, sizeof hash));
}

StatusOr<std::string> DecoyPasswordHash() {
  std::uint8_t salt[kSaltBytes], hash[kHashBytes];
  if (RAND_bytes(salt, sizeof salt) != 1 || RAND_bytes(hash, sizeof hash) != 1) {
    return std::unexpected(OpenSslError("RAND_bytes"));
  }
  return Encode(ByteSpan(salt, sizeof salt), ByteSpan(hash, sizeof hash));
}

StatusOr<bool> VerifyPassword(const SecretBytes& password, std::string_view encoded) {
  std::vector<std::string_view> parts = Split(encoded, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") {
    return std::unexpected(Status::InvalidArgument("malformed password hash"));
  }
  unsigned log_n = 0;
  std::uint64_t r = 0, p = 0;
  try {
    log_n = static_cast<unsigned>(std::stoul(std::string(parts[1])));
    r = std::stoull(std::string(parts[2]));
    p = std::stoull(std::string(parts[3]));
  } catch (...) {
    return std::unexpected(Status::InvalidArgument("malformed password hash parameters"));
  }
  if (log_n < 10 || log_n > 20 || r == 0 || r > 32 || p == 0 || p > 16) {
    return std::unexpected(Status::InvalidArgument("password hash parameters out of range"));
  }
  SR_ASSIGN_OR_RETURN(Bytes salt, HexDecode(parts[4]));
  SR_ASSIGN_OR_RETURN(Bytes expected, HexDecode(parts[5]));
  if (expected.empty() || expected.size() > 64) {
    return std::unexpected(Status::InvalidArgument("malformed password hash"));
  }
  std::vector<std::uint8_t> actual(expected.size());
  SR_RETURN_IF_ERROR(Scrypt(password, salt, log_n, r, p, actual.data(), actual.size()));
  return CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) == 0;
}

}  // namespace strongroom::crypto

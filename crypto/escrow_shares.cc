// Shamir shares of the escrow private key (libgfshare) and their files.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

// libgfshare.h declares C functions without extern "C" itself.
extern "C" {
#include <libgfshare.h>
}

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "crypto/escrow.h"
#include "crypto/escrow_key.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kShareFormat = "strongroom-escrow-share-v1";
constexpr std::size_t kMaxShareFileBytes = 64 * 1024;

// FillRandom is libgfshare's random source: its polynomial coefficients.
// SECURITY: libgfshare leaves the hook unset (NULL) and its fallback is
// random(3); a failing RNG here is not recoverable, so the process aborts
// rather than split a key with predictable coefficients.
void FillRandom(unsigned char* buffer, unsigned int count) {
  if (count > 0 && RAND_bytes(buffer, static_cast<int>(count)) != 1) std::abort();
}

void UseOpenSslRandom() { gfshare_fill_rand = FillRandom; }

struct GfshareDeleter {
  void operator()(gfshare_ctx* ctx) const { gfshare_ctx_free(ctx); }
};
using GfsharePtr = std::unique_ptr<gfshare_ctx, GfshareDeleter>;

std::string Sha256Hex(ByteSpan bytes) {
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return HexEncode(ByteSpan(digest, length));
}

int HexValue(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ShareHeader is the non-secret part of a share file, up to "data: ".
std::string ShareHeader(const EscrowShare& share) {
  return "# Strongroom escrow share. Keep it offline; any " + std::to_string(share.threshold) +
         " of the " + std::to_string(share.officers) + " shares rebuild the escrow key.\n" +
         "format: " + std::string(kShareFormat) + "\n" +
         "escrow-key-sha256: " + share.escrow_key_sha256 + "\n" +
         "share: " + std::to_string(share.number) + "\n" +
         "officers: " + std::to_string(share.officers) + "\n" +
         "threshold: " + std::to_string(share.threshold) + "\n" + "data: ";
}

StatusOr<int> SmallNumber(std::string_view text, std::string_view what) {
  int value = 0;
  if (text.empty() || text.size() > 3) {
    return std::unexpected(
        Status::InvalidArgument("the share file's " + std::string(what) + " is not a number"));
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::unexpected(
          Status::InvalidArgument("the share file's " + std::string(what) + " is not a number"));
    }
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 255) {
    return std::unexpected(
        Status::InvalidArgument("the share file's " + std::string(what) + " is out of range"));
  }
  return value;
}

// ReadAll reads the file into locked memory.
StatusOr<SecretBytes> ReadAll(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::unexpected(Status::NotFound("share file " + path + " does not exist"));
    return std::unexpected(
        Status::InvalidArgument("cannot open share file " + path + ": " + std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<std::size_t>(st.st_size) > kMaxShareFileBytes) {
    ::close(fd);
    return std::unexpected(Status::InvalidArgument("share file " + path + " is not a share file"));
  }
  StatusOr<SecretBytes> buffer = SecretBytes::Allocate(static_cast<std::size_t>(st.st_size));
  if (!buffer.has_value()) {
    ::close(fd);
    return std::unexpected(buffer.error());
  }
  std::size_t done = 0;
  while (done < buffer->size()) {
    ssize_t n = ::read(fd, buffer->RevealMutableSecret().data() + done, buffer->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != buffer->size()) {
    return std::unexpected(Status::InvalidArgument("cannot read share file " + path));
  }
  return buffer;
}

// ParseShare reads the fields of a share file whose checksum held.
StatusOr<EscrowShare> ParseShare(std::string_view text, const std::string& path) {
  EscrowShare share;
  std::map<std::string, std::string_view, std::less<>> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos) {
      return std::unexpected(
          Status::InvalidArgument("share file " + path + " has a malformed line"));
    }
    fields[std::string(line.substr(0, colon))] = line.substr(colon + 2);
  }
  for (std::string_view name :
       {"format", "escrow-key-sha256", "share", "officers", "threshold", "data"}) {
    if (!fields.contains(name)) {
      return std::unexpected(
          Status::InvalidArgument("share file " + path + " has no " + std::string(name)));
    }
  }
  if (fields["format"] != kShareFormat) {
    return std::unexpected(
        Status::InvalidArgument("share file " + path + " has an unknown format"));
  }
  share.escrow_key_sha256 = std::string(fields["escrow-key-sha256"]);
  SR_ASSIGN_OR_RETURN(int number, SmallNumber(fields["share"], "share number"));
  SR_ASSIGN_OR_RETURN(int officers, SmallNumber(fields["officers"], "officers"));
  SR_ASSIGN_OR_RETURN(int threshold, SmallNumber(fields["threshold"], "threshold"));
  if (number > officers || threshold > officers || threshold < 2) {
    return std::unexpected(
        Status::InvalidArgument("share file " + path + " has inconsistent numbers"));
  }
  share.number = static_cast<std::uint8_t>(number);
  share.officers = static_cast<std::uint8_t>(officers);
  share.threshold = static_cast<std::uint8_t>(threshold);
  std::string_view hex = fields["data"];
  if (hex.empty() || hex.size() % 2 != 0) {
    return std::unexpected(Status::InvalidArgument("share file " + path + " has malformed data"));
  }
  SR_ASSIGN_OR_RETURN(share.data, SecretBytes::Allocate(hex.size() / 2));
  for (std::size_t i = 0; i < share.data.size(); ++i) {
    int hi = HexValue(static_cast<std::uint8_t>(hex[2 * i]));
    int lo = HexValue(static_cast<std::uint8_t>(hex[2 * i + 1]));
    if (hi < 0 || lo < 0) {
      return std::unexpected(Status::InvalidArgument("share file " + path + " has malformed data"));
    }
    share.data.RevealMutableSecret()[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return share;
}

}  // namespace

StatusOr<std::vector<EscrowShare>> SplitEscrowKey(const EscrowKeyPair& key, int officers,
                                                  int threshold) {
  if (threshold < 2 || officers < threshold || officers > 255) {
    return std::unexpected(Status::InvalidArgument(
        "escrow needs 2 <= threshold <= officers <= 255 (a threshold of 1 would let any one "
        "officer rebuild the key)"));
  }
  if (key.private_key_der.empty())
    return std::unexpected(Status::InvalidArgument("no escrow key to split"));
  UseOpenSslRandom();
  const unsigned int size = static_cast<unsigned int>(key.private_key_der.size());
  std::vector<unsigned char> numbers(static_cast<std::size_t>(officers));
  for (int i = 0; i < officers; ++i) numbers[i] = static_cast<unsigned char>(i + 1);
  GfsharePtr ctx(gfshare_ctx_init_enc(numbers.data(), static_cast<unsigned int>(officers),
                                      static_cast<unsigned char>(threshold), size));
  if (!ctx) return std::unexpected(Status::Internal("libgfshare could not prepare the split"));
  // libgfshare takes a non-const pointer but only copies the secret.
  gfshare_ctx_enc_setsecret(ctx.get(),
                            const_cast<unsigned char*>(key.private_key_der.RevealSecret().data()));
  std::vector<EscrowShare> shares;
  for (int i = 0; i < officers; ++i) {
    EscrowShare share;
    share.number = numbers[i];
    share.officers = static_cast<std::uint8_t>(officers);
    share.threshold = static_cast<std::uint8_t>(threshold);
    share.escrow_key_sha256 = key.fingerprint_sha256;
    SR_ASSIGN_OR_RETURN(share.data, SecretBytes::Allocate(size));
    gfshare_ctx_enc_getshare(ctx.get(), static_cast<unsigned char>(i),
                             share.data.RevealMutableSecret().data());
    shares.push_back(std::move(share));
  }
  return shares;
}

StatusOr<EscrowKeyPair> CombineShares(const std::vector<EscrowShare>& shares) {
  if (shares.empty()) return std::unexpected(Status::InvalidArgument("no share files given"));
  const EscrowShare& first = shares.front();
  std::set<std::uint8_t> numbers;
  for (const EscrowShare& s : shares) {
    if (s.escrow_key_sha256 != first.escrow_key_sha256 || s.officers != first.officers ||
        s.threshold != first.threshold || s.data.size() != first.data.size()) {
      return std::unexpected(Status::InvalidArgument(
          "the share files are not shares of one escrow key (their fingerprints, counts or "
          "sizes differ)"));
    }
    if (!numbers.insert(s.number).second) {
      return std::unexpected(
          Status::InvalidArgument("share " + std::to_string(s.number) + " was given twice"));
    }
  }
  if (shares.size() < first.threshold) {
    return std::unexpected(Status::FailedPrecondition(
        "escrow recovery needs " + std::to_string(first.threshold) +
        " different shares of escrow key " + first.escrow_key_sha256.substr(0, 16) + "; only " +
        std::to_string(shares.size()) + " given. Nothing was changed"));
  }
  UseOpenSslRandom();  // libgfshare overwrites its buffers with random bytes when freed
  const unsigned int size = static_cast<unsigned int>(first.data.size());
  std::vector<unsigned char> xs;
  for (std::size_t i = 0; i < first.threshold; ++i) xs.push_back(shares[i].number);
  GfsharePtr ctx(gfshare_ctx_init_dec(xs.data(), static_cast<unsigned int>(xs.size()), size));
  if (!ctx)
    return std::unexpected(Status::Internal("libgfshare could not prepare the recombination"));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    gfshare_ctx_dec_giveshare(ctx.get(), static_cast<unsigned char>(i),
                              const_cast<unsigned char*>(shares[i].data.RevealSecret().data()));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes secret, SecretBytes::Allocate(size));
  gfshare_ctx_dec_extract(ctx.get(), secret.RevealMutableSecret().data());
  ctx.reset();
  StatusOr<EscrowKeyPair> pair = CompleteEscrowKeyPair(std::move(secret));
  if (!pair.has_value() || pair->fingerprint_sha256 != first.escrow_key_sha256) {
    return std::unexpected(Status::IntegrityError(
        "the shares do not rebuild escrow key " + first.escrow_key_sha256.substr(0, 16) +
        ": a share file was altered or belongs to another escrow"));
  }
  return pair;
}

Status WriteShareFile(const std::string& path, const EscrowShare& share) {
  const std::string header = ShareHeader(share);
  const std::size_t body = header.size() + 2 * share.data.size() + 1;
  const std::size_t total = body + std::string_view("checksum: ").size() + 64 + 1;
  SR_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::Allocate(total));
  std::uint8_t* out = text.RevealMutableSecret().data();
  std::memcpy(out, header.data(), header.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t at = header.size();
  for (std::uint8_t b : share.data.RevealSecret()) {
    out[at++] = static_cast<std::uint8_t>(kHex[b >> 4]);
    out[at++] = static_cast<std::uint8_t>(kHex[b & 15]);
  }
  out[at++] = '\n';
  const std::string checksum = "checksum: " + Sha256Hex(ByteSpan(out, body)) + "\n";
  std::memcpy(out + at, checksum.data(), checksum.size());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::FailedPrecondition("cannot create share file " + path + ": " +
                                      std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < total) {
    ssize_t n = ::write(fd, out + done, total - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (done != total || !synced) {
    ::unlink(path.c_str());
    return Status::Unavailable("cannot write share file " + path);
  }
  return Status::Ok();
}

StatusOr<EscrowShare> ReadShareFile(const std::string& path) {
  SR_ASSIGN_OR_RETURN(SecretBytes raw, ReadAll(path));
  std::string_view text = raw.RevealSecretAsString();
  std::size_t mark = text.rfind("checksum: ");
  if (mark == std::string_view::npos || (mark > 0 && text[mark - 1] != '\n')) {
    return std::unexpected(Status::InvalidArgument("share file " + path + " has no checksum"));
  }
  std::string_view stated = text.substr(mark + 10);
  while (!stated.empty() && (stated.back() == '\n' || stated.back() == '\r'))
    stated.remove_suffix(1);
  if (stated != Sha256Hex(AsBytes(text.substr(0, mark)))) {
    return std::unexpected(Status::IntegrityError(
        "share file " + path + " does not match its checksum: it was damaged or edited"));
  }
  return ParseShare(text.substr(0, mark), path);
}

}  // namespace strongroom::crypto

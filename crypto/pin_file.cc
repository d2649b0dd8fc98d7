#include "crypto/pin_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>

namespace strongroom::crypto {
namespace {

constexpr std::size_t kMaxPin = 256;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

StatusOr<SecretBytes> ReadPinFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ELOOP) {
      return std::unexpected(Status::PermissionDenied("PIN file " + path + " is a symbolic link; refused"));
    }
    if (err == ENOENT) return std::unexpected(Status::NotFound("PIN file " + path + " does not exist"));
    return std::unexpected(Status::PermissionDenied("cannot open PIN file " + path + ": " + std::strerror(err)));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(Status::Internal("cannot stat PIN file " + path));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(Status::PermissionDenied("PIN file " + path + " is not a regular file"));
  }
  if (st.st_uid != ::geteuid()) {
    return std::unexpected(Status::PermissionDenied(
        "PIN file " + path + " is owned by uid " + std::to_string(st.st_uid) +
        ", not by the user running strongroom (uid " + std::to_string(::geteuid()) + ")"));
  }
  if ((st.st_mode & 077) != 0) {
    return std::unexpected(Status::PermissionDenied(
        "PIN file " + path + " is readable or writable by group or others; run: chmod 600 " + path));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes buffer, SecretBytes::Allocate(kMaxPin + 2));
  std::size_t total = 0;
  std::uint8_t* out = buffer.RevealMutableSecret().data();
  while (total < kMaxPin + 2) {
    ssize_t n = ::read(fd.get(), out + total, kMaxPin + 2 - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(Status::Internal("cannot read PIN file " + path));
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
  }
  std::size_t len = 0;
  while (len < total && out[len] != '\n' && out[len] != '\r') ++len;
  if (len > kMaxPin) {
    return std::unexpected(Status::InvalidArgument("PIN in " + path + " is longer than 256 bytes"));
  }
  if (len == 0) return std::unexpected(Status::InvalidArgument("PIN file " + path + " is empty"));
  buffer.Truncate(len);
  return buffer;
}

}  // namespace strongroom::crypto

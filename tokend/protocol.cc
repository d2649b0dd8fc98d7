#include "tokend/protocol.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace strongroom::tokend {
namespace {

void PutLength(std::uint8_t* out, std::uint32_t n) {
  out[0] = static_cast<std::uint8_t>(n >> 24);
  out[1] = static_cast<std::uint8_t>(n >> 16);
  out[2] = static_cast<std::uint8_t>(n >> 8);
  out[3] = static_cast<std::uint8_t>(n);
}

// ReadExactly fills `out`: kUnavailable on EOF or error.
Status ReadExactly(int fd, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Unavailable("the token service closed the connection");
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

StatusOr<std::size_t> ReadLength(int fd, std::size_t max_bytes) {
  std::uint8_t header[4];
  SR_RETURN_IF_ERROR(ReadExactly(fd, header, sizeof header));
  const std::uint32_t length = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                               (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (length == 0 || length > max_bytes) {
    return std::unexpected(Status::InvalidArgument("token service frame of a bad length"));
  }
  return static_cast<std::size_t>(length);
}

}  // namespace

bool CarriesSecret(Op op) { return op == Op::kUnwrapKey || op == Op::kGenerateWrappedKey; }

bool IsKekId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

FrameBuilder& FrameBuilder::Add(const std::uint8_t* data, std::size_t size, bool field) {
  if (field) {
    if (size > 0xffff) {
      too_long_ = true;
      return *this;
    }
    body_.push_back(static_cast<std::uint8_t>(size >> 8));
    body_.push_back(static_cast<std::uint8_t>(size));
  }
  body_.insert(body_.end(), data, data + size);
  if (body_.size() > kMaxFrameBytes) too_long_ = true;
  return *this;
}

StatusOr<Bytes> FrameBuilder::Finish() const {
  if (too_long_) return std::unexpected(Status::InvalidArgument("token service frame too long"));
  Bytes frame(4 + body_.size());
  PutLength(frame.data(), static_cast<std::uint32_t>(body_.size()));
  std::memcpy(frame.data() + 4, body_.data(), body_.size());
  return frame;
}

StatusOr<SecretBytes> FrameBuilder::SecretFrame(const FrameBuilder& head,
                                                const SecretBytes& secret) {
  const std::size_t body = head.body_.size() + 2 + secret.size();
  if (head.too_long_ || secret.size() > 0xffff || body > kMaxSecretFrameBytes) {
    return std::unexpected(Status::InvalidArgument("token service frame too long"));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes frame, SecretBytes::Allocate(4 + body));
  std::uint8_t* out = frame.RevealMutableSecret().data();
  PutLength(out, static_cast<std::uint32_t>(body));
  std::memcpy(out + 4, head.body_.data(), head.body_.size());
  out += 4 + head.body_.size();
  out[0] = static_cast<std::uint8_t>(secret.size() >> 8);
  out[1] = static_cast<std::uint8_t>(secret.size());
  if (!secret.empty()) std::memcpy(out + 2, secret.RevealSecret().data(), secret.size());
  return frame;
}

bool FieldReader::Head(std::uint8_t* out) {
  if (!ok_ || rest_.empty()) return ok_ = false;
  *out = rest_[0];
  rest_ = rest_.subspan(1);
  return true;
}

bool FieldReader::Field(std::size_t min, std::size_t max, ByteSpan* out) {
  if (!ok_ || rest_.size() < 2) return ok_ = false;
  const std::size_t size = (std::size_t{rest_[0]} << 8) | rest_[1];
  if (size < min || size > max || rest_.size() - 2 < size) return ok_ = false;
  *out = rest_.subspan(2, size);
  rest_ = rest_.subspan(2 + size);
  return true;
}

bool FieldReader::Text(std::size_t min, std::size_t max, std::string* out) {
  ByteSpan bytes;
  if (!Field(min, max, &bytes)) return false;
  out->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

bool FieldReader::Byte(std::uint8_t* out) {
  ByteSpan bytes;
  if (!Field(1, 1, &bytes)) return false;
  *out = bytes[0];
  return true;
}

bool FieldReader::Bool(bool* out) {
  std::uint8_t value = 0;
  if (!Byte(&value)) return false;
  if (value > 1) return ok_ = false;
  *out = value == 1;
  return true;
}

Status ReadFrame(int fd, std::size_t max_bytes, Bytes* out) {
  SR_ASSIGN_OR_RETURN(std::size_t length, ReadLength(fd, max_bytes));
  out->assign(length, 0);
  return ReadExactly(fd, out->data(), length);
}

Status ReadSecretFrame(int fd, std::size_t max_bytes, SecretBytes* out) {
  SR_ASSIGN_OR_RETURN(std::size_t length, ReadLength(fd, max_bytes));
  SR_ASSIGN_OR_RETURN(*out, SecretBytes::Allocate(length));
  return ReadExactly(fd, out->RevealMutableSecret().data(), length);
}

Status WriteAll(int fd, ByteSpan bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Unavailable("the token service connection broke");
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

}  // namespace strongroom::tokend

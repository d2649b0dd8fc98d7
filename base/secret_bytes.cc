#include "base/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>

#include "base/secure_arena.h"

namespace strongroom {

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

void SecretBytes::Release() {
  if (data_ != nullptr) {
    // The arena wipes the whole block on Free.
    SecureArena::Process()->Free(data_, capacity_);
  }
  data_ = nullptr;
  size_ = capacity_ = 0;
}

StatusOr<SecretBytes> SecretBytes::Allocate(std::size_t size) {
  SecretBytes out;
  if (size == 0) return out;
  SecureArena* arena = SecureArena::Process();
  if (arena == nullptr) {
    return std::unexpected(Status::FailedPrecondition("the secure arena is not initialised"));
  }
  void* p = arena->Allocate(size);
  if (p == nullptr) {
    return std::unexpected(Status::ResourceExhausted(
        "secure arena exhausted (" + std::to_string(size) + " bytes requested)"));
  }
  out.data_ = static_cast<std::uint8_t*>(p);
  out.size_ = out.capacity_ = size;
  return out;
}

StatusOr<SecretBytes> SecretBytes::CopyFrom(std::span<const std::uint8_t> bytes) {
  SR_ASSIGN_OR_RETURN(SecretBytes out, Allocate(bytes.size()));
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

StatusOr<SecretBytes> SecretBytes::CopyFrom(std::string_view bytes) {
  return CopyFrom(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

StatusOr<SecretBytes> SecretBytes::Clone() const { return CopyFrom(RevealSecret()); }

void SecretBytes::Truncate(std::size_t n) {
  if (n >= size_) return;
  OPENSSL_cleanse(data_ + n, size_ - n);
  size_ = n;
}

bool SecretBytes::ConstantTimeEquals(std::span<const std::uint8_t> other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_, other.data(), size_) == 0;
}

bool SecretBytes::ConstantTimeEquals(const SecretBytes& other) const {
  return ConstantTimeEquals(other.RevealSecret());
}

std::ostream& operator<<(std::ostream& os, const SecretBytes& secret) {
  return os << "<redacted " << secret.size() << " bytes>";
}

void PrintTo(const SecretBytes& secret, std::ostream* os) { *os << secret; }

}  // namespace strongroom

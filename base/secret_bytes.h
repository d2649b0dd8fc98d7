// base/secret_bytes.h — the only type that holds plaintext keys and
// decrypted secret values.
//
// Storage comes from the process SecureArena (locked, out of core dumps) and
// is wiped on release. The type is move-only (Clone() is explicit), compares
// only in constant time, and prints as "<redacted N bytes>" everywhere,
// including gtest failure messages. Raw bytes are reachable only through
// RevealSecret()/RevealMutableSecret(), so `grep RevealSecret` lists every
// place that exposes a secret. Thread-safety: like std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>

#include "base/status.h"

namespace strongroom {

class SecretBytes {
 public:
  // Empty; owns no memory.
  SecretBytes() = default;
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // Allocate returns `size` zero bytes from the process arena.
  // kFailedPrecondition when no arena is installed, kResourceExhausted when it
  // is full. size 0 gives an empty value.
  static StatusOr<SecretBytes> Allocate(std::size_t size);
  // CopyFrom copies `bytes` into a new arena block (same errors as Allocate).
  // The caller remains responsible for wiping its own copy.
  static StatusOr<SecretBytes> CopyFrom(std::span<const std::uint8_t> bytes);
  static StatusOr<SecretBytes> CopyFrom(std::string_view bytes);

  // Clone returns an independent copy.
  StatusOr<SecretBytes> Clone() const;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // RevealSecret gives read access to the plaintext. SECURITY: the span must
  // not outlive this object, and its bytes must never reach a log, an error
  // message, an audit record or a non-locked buffer that outlives the request.
  std::span<const std::uint8_t> RevealSecret() const { return {data_, size_}; }
  std::span<std::uint8_t> RevealMutableSecret() { return {data_, size_}; }
  // RevealSecretAsString is RevealSecret() as characters.
  std::string_view RevealSecretAsString() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  // Truncate shrinks the visible size to `n` (<= size()) and wipes the rest.
  void Truncate(std::size_t n);

  // ConstantTimeEquals compares contents in time that depends only on the
  // sizes.
  bool ConstantTimeEquals(const SecretBytes& other) const;
  bool ConstantTimeEquals(std::span<const std::uint8_t> other) const;

 private:
  void Release();

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // bytes requested from the arena
};

// Printing never shows contents.
std::ostream& operator<<(std::ostream& os, const SecretBytes& secret);
// gtest's printer hook: failure messages show "<redacted N bytes>".
void PrintTo(const SecretBytes& secret, std::ostream* os);

}  // namespace strongroom

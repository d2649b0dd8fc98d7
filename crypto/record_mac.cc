#include "crypto/record_mac.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <atomic>

namespace strongroom::crypto {

namespace {

// The HKDF handles of DeriveKey (only used here).
using EvpKdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<EVP_KDF_CTX_free>>;

std::uint64_t NextAuthenticatorId() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

HmacRecordAuthenticator::HmacRecordAuthenticator() : id_(NextAuthenticatorId()) {}

EVP_MAC_CTX* HmacRecordAuthenticator::KeyedContext() const {
  struct Slot {
    std::uint64_t owner = 0;
    EvpMacCtxPtr context;
  };
  thread_local Slot slot;
  if (slot.owner == id_ && slot.context != nullptr) {
    // A NULL key restarts HMAC with the key it was given.
    if (EVP_MAC_init(slot.context.get(), nullptr, 0, nullptr) == 1) return slot.context.get();
  }
  slot.context.reset(EVP_MAC_CTX_dup(keyed_.get()));
  slot.owner = slot.context != nullptr ? id_ : 0;
  return slot.context.get();
}

StatusOr<std::shared_ptr<HmacRecordAuthenticator>> HmacRecordAuthenticator::Create(
    SecretBytes key) {
  if (key.size() != 32)
    return std::unexpected(Status::InvalidArgument("record-MAC key must be 32 bytes"));
  std::shared_ptr<HmacRecordAuthenticator> out(new HmacRecordAuthenticator());
  out->key_ = std::move(key);
  out->mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!out->mac_) return std::unexpected(OpenSslError("HMAC unavailable"));
  out->keyed_.reset(EVP_MAC_CTX_new(out->mac_.get()));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  auto k = out->key_.RevealSecret();
  if (!out->keyed_ || EVP_MAC_init(out->keyed_.get(), k.data(), k.size(), params) != 1) {
    return std::unexpected(OpenSslError("HMAC init"));
  }
  return out;
}

StatusOr<SecretBytes> HmacRecordAuthenticator::DeriveKey(std::string_view info,
                                                         std::size_t length) const {
  if (info.empty() || length < 16 || length > 64) {
    return std::unexpected(
        Status::InvalidArgument("a derived key needs a purpose and 16 to 64 bytes"));
  }
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  EvpKdfCtxPtr context(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!context) return std::unexpected(OpenSslError("HKDF unavailable"));
  SR_ASSIGN_OR_RETURN(SecretBytes derived, SecretBytes::Allocate(length));
  auto key = key_.RevealSecret();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  std::span<std::uint8_t> out = derived.RevealMutableSecret();
  if (EVP_KDF_derive(context.get(), out.data(), out.size(), params) != 1) {
    return std::unexpected(OpenSslError("HKDF derive"));
  }
  return derived;
}

StatusOr<storage::RecordTag> HmacRecordAuthenticator::Tag(storage::Table table,
                                                          std::string_view key,
                                                          std::uint64_t generation,
                                                          ByteSpan value) const {
  EVP_MAC_CTX* ctx = KeyedContext();
  if (ctx == nullptr) return std::unexpected(OpenSslError("HMAC dup"));
  // Length-prefixed fields, fed piece by piece (no copy of the value).
  static constexpr char kDomain[] = "strongroom.record.v1";
  std::uint8_t fixed[1 + 4];
  fixed[0] = static_cast<std::uint8_t>(table);
  auto key_len = static_cast<std::uint32_t>(key.size());
  for (int i = 0; i < 4; ++i) fixed[1 + i] = static_cast<std::uint8_t>(key_len >> (24 - 8 * i));
  std::uint8_t numbers[16];
  for (int i = 0; i < 8; ++i) {
    numbers[i] = static_cast<std::uint8_t>(generation >> (56 - 8 * i));
    numbers[8 + i] =
        static_cast<std::uint8_t>(static_cast<std::uint64_t>(value.size()) >> (56 - 8 * i));
  }
  storage::RecordTag tag{};
  std::size_t len = 0;
  if (EVP_MAC_update(ctx, reinterpret_cast<const std::uint8_t*>(kDomain), sizeof kDomain - 1) !=
          1 ||
      EVP_MAC_update(ctx, fixed, sizeof fixed) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const std::uint8_t*>(key.data()), key.size()) != 1 ||
      EVP_MAC_update(ctx, numbers, sizeof numbers) != 1 ||
      EVP_MAC_update(ctx, value.data(), value.size()) != 1 ||
      EVP_MAC_final(ctx, tag.data(), &len, tag.size()) != 1 || len != tag.size()) {
    return std::unexpected(OpenSslError("HMAC"));
  }
  return tag;
}

}  // namespace strongroom::crypto

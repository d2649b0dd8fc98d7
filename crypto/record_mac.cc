#include "crypto/record_mac.h"

#include <openssl/core_names.h>

namespace strongroom::crypto {

StatusOr<std::shared_ptr<HmacRecordAuthenticator>> HmacRecordAuthenticator::Create(SecretBytes key) {
  if (key.size() != 32) return std::unexpected(Status::InvalidArgument("record-MAC key must be 32 bytes"));
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

StatusOr<storage::RecordTag> HmacRecordAuthenticator::Tag(storage::Table table,
                                                          std::string_view key,
                                                          std::uint64_t generation,
                                                          ByteSpan value) const {
  EvpMacCtxPtr ctx(EVP_MAC_CTX_dup(keyed_.get()));
  if (!ctx) return std::unexpected(OpenSslError("HMAC dup"));
  ByteWriter header;
  header.Raw(AsBytes("strongroom.record.v1"));
  header.U8(static_cast<std::uint8_t>(table));
  header.Str32(AsBytes(key));
  header.U64(generation);
  header.U64(value.size());
  storage::RecordTag tag{};
  std::size_t len = 0;
  if (EVP_MAC_update(ctx.get(), header.bytes().data(), header.bytes().size()) != 1 ||
      EVP_MAC_update(ctx.get(), value.data(), value.size()) != 1 ||
      EVP_MAC_final(ctx.get(), tag.data(), &len, tag.size()) != 1 || len != tag.size()) {
    return std::unexpected(OpenSslError("HMAC"));
  }
  return tag;
}

}  // namespace strongroom::crypto

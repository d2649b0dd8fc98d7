// crypto/record_mac.h — the record-MAC key and the authenticator storage/
// uses to protect every record that grants access (SPEC section 4).
//
// SECURITY: the tag is HMAC-SHA256 over a length-prefixed encoding of
// (table, key, generation, value), so a record moved to another table or
// key, or an older generation put back, fails. The key is held unwrapped in
// locked memory only; each thread that computes tags also keeps a keyed
// HMAC context (OpenSSL's heap) while it runs. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/openssl_ptr.h"
#include "base/secret_bytes.h"
#include "storage/storage.h"

namespace strongroom::crypto {

class HmacRecordAuthenticator final : public storage::RecordAuthenticator {
 public:
  // Create takes a 32-byte key. kInvalidArgument for another size.
  static StatusOr<std::shared_ptr<HmacRecordAuthenticator>> Create(SecretBytes key);
  StatusOr<storage::RecordTag> Tag(storage::Table table, std::string_view key,
                                   std::uint64_t generation, ByteSpan value) const override;

  // DeriveKey returns a `length`-byte key (16 to 64) derived from the
  // record-MAC key with HKDF-SHA256 (RFC 5869, OpenSSL's EVP_KDF "HKDF"; no
  // salt, `info` as given), in SecretBytes. Every process holding the same
  // record-MAC key (every node of a cluster, the server after a restart)
  // derives the same key, so what it authenticates is valid on all of them.
  // kInvalidArgument for an empty `info` or a length out of range; kInternal
  // when OpenSSL fails; SecretBytes::Allocate's errors.
  // SECURITY: the record-MAC key itself never leaves crypto/; a distinct
  // `info` per purpose keeps derived keys independent of one another and of
  // the record tags.
  StatusOr<SecretBytes> DeriveKey(std::string_view info, std::size_t length) const;

 private:
  HmacRecordAuthenticator();
  // KeyedContext returns this thread's copy of `keyed_`, restarted: one
  // EVP_MAC_CTX_dup per thread, not per record read.
  EVP_MAC_CTX* KeyedContext() const;

  const std::uint64_t id_;  // never reused: tells the threads' copies apart
  SecretBytes key_;
  EvpMacPtr mac_;
  EvpMacCtxPtr keyed_;  // a keyed context, copied once per thread
};

}  // namespace strongroom::crypto

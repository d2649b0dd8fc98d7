// crypto/record_mac.h — the record-MAC key and the authenticator storage/
// uses to protect every record that grants access (SPEC section 4).
//
// SECURITY: the tag is HMAC-SHA256 over a length-prefixed encoding of
// (table, key, generation, value), so a record moved to another table or
// key, or an older generation put back, fails. The key is held unwrapped in
// locked memory only. Thread-safe.
#pragma once

#include <memory>

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

 private:
  HmacRecordAuthenticator() = default;
  SecretBytes key_;
  EvpMacPtr mac_;
  EvpMacCtxPtr keyed_;  // a keyed context, duplicated per call
};

}  // namespace strongroom::crypto

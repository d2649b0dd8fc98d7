// crypto/keyring_store.h — how the keyring's state is laid out in the store.
// Private to crypto/ (keyring*.cc).
//
//   kMeta   "record-mac-key"          u8 format, str16 KEK id, str32 wrapped key
//   kSystem "current-kek"             the current KEK id
//   kSystem "active-data-key/<ns>"    the active data key id of a namespace
//   kKeks   "<kek id>"                u8 format, u64 created (unix micros)
//   kDataKeys "<data key id>"         DataKeyRecord
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/data_key_record.h"
#include "storage/storage.h"

namespace strongroom::crypto {

struct WrappedMacKey {
  std::string kek_id;
  Bytes wrapped;
};

inline constexpr std::string_view kCurrentKekKey = "current-kek";
inline constexpr std::string_view kActiveDataKeyPrefix = "active-data-key/";

// NewKeyId returns prefix + 16 random hex digits.
std::string NewKeyId(std::string_view prefix);

StatusOr<std::optional<WrappedMacKey>> ReadWrappedMacKey(storage::Store& store);
Status WriteWrappedMacKey(storage::Store& store, const WrappedMacKey& key);
// RecordKekIfMissing adds `kek_id` to kKeks, and makes it current when no KEK
// is current yet and make_current_if_none.
Status RecordKekIfMissing(storage::Store& store, const std::string& kek_id,
                          std::int64_t created_micros, bool make_current_if_none);
StatusOr<std::string> ReadCurrentKekId(storage::Store& store);
StatusOr<DataKeyRecord> ReadDataKeyRecord(storage::Store& store, const std::string& id);
// DecodeKekCreated reads a kKeks value.
StatusOr<std::int64_t> DecodeKekCreated(ByteSpan value);

}  // namespace strongroom::crypto

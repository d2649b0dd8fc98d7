// crypto/data_key_record.h — how a data key is stored: a row in
// storage::Table::kDataKeys, only ever in wrapped form. Private to crypto/.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

struct DataKeyRecord {
  std::string id;             // "dek-<16 hex>"
  std::string namespace_name;
  std::string day;            // UTC day it was created for, "YYYY-MM-DD"
  std::string kek_id;         // the KEK that wraps it now
  Bytes wrapped;              // RFC 3394 wrap under kek_id
  std::int64_t created_micros = 0;
  bool active = false;        // new encryptions may use it
  // Encryptions reserved so far: every envelope sealed under this key has a
  // counter below this value (reserved in blocks; a crash wastes the rest of
  // a block, never reuses it).
  std::uint64_t reserved_encryptions = 0;
};

Bytes EncodeDataKeyRecord(const DataKeyRecord& record);
// DecodeDataKeyRecord returns kIntegrityError for a malformed row.
StatusOr<DataKeyRecord> DecodeDataKeyRecord(ByteSpan bytes);

// ActiveDataKeyIndexKey is the kSystem key naming a namespace's active data
// key: "active-data-key/<namespace>".
std::string ActiveDataKeyIndexKey(std::string_view namespace_name);

}  // namespace strongroom::crypto

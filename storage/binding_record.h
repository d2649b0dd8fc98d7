// storage/binding_record.h — a role binding made at run time (`strongroom
// user add --role R --namespace NS`), stored in Table::kBindings under
// BindingKey(...). Bindings from policy files are not stored.
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

struct BindingRecord {
  std::string subject_kind;  // "user" or "service"
  std::string subject_name;
  std::string role;
  std::string namespace_name;  // or "*"
  std::int64_t created_micros = 0;
};

// BindingKey is "<kind>/<name>/<role>/<namespace>"; BindingPrefix(kind,
// name) is the prefix of every binding of one subject.
std::string BindingKey(const BindingRecord& binding);
std::string BindingPrefix(std::string_view subject_kind, std::string_view subject_name);

Bytes EncodeBindingRecord(const BindingRecord& binding);
StatusOr<BindingRecord> DecodeBindingRecord(ByteSpan bytes);

}  // namespace strongroom::storage

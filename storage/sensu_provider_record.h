// storage/sensu_provider_record.h — a Sensu secrets provider (SPEC 6.3) as
// stored in Table::kSensuProviders under its name. Providers are not
// namespaced. The built-in `strongroom` provider is not stored.
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

struct SensuProviderRecord {
  std::string name;
  std::string type;                // "strongroom" or "env"
  std::vector<std::string> allow;  // env: variable names and "PREFIX_*" patterns
  std::string created_by;
  std::int64_t updated_micros = 0;
  std::uint64_t resource_version = 0;
};

Bytes EncodeSensuProviderRecord(const SensuProviderRecord& record);
// DecodeSensuProviderRecord returns kIntegrityError for a malformed row.
StatusOr<SensuProviderRecord> DecodeSensuProviderRecord(ByteSpan bytes);

}  // namespace strongroom::storage

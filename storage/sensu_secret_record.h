// storage/sensu_secret_record.h — a Sensu secret (SPEC 6.3) as stored in
// Table::kSensuSecrets under "<namespace>/<name>": a reference (`provider`,
// `id`) to where the value lives, never the value itself. Authenticated
// like every table but kMeta, so neither the reference nor `decrypters`
// can be edited in the file.
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

struct SensuSecretRecord {
  std::string namespace_name;
  std::string name;
  std::string id;        // the provider's name for the value
  std::string provider;  // a provider's name; it may not exist (yet)
  std::vector<std::pair<std::string, std::string>> labels;       // sorted by key
  std::vector<std::pair<std::string, std::string>> annotations;  // sorted by key
  // The Strongroom extension: services that may resolve the secret. Unset
  // (nullopt) differs from an empty list, which allows nobody (SPEC 4).
  std::optional<std::vector<std::string>> decrypters;
  std::string created_by;  // the actor of the last create or update
  std::int64_t updated_micros = 0;
  std::uint64_t resource_version = 0;  // of the write that stored this version
};

// SensuSecretKey returns "<namespace>/<name>".
std::string SensuSecretKey(std::string_view namespace_name, std::string_view name);

Bytes EncodeSensuSecretRecord(const SensuSecretRecord& record);
// DecodeSensuSecretRecord returns kIntegrityError for a malformed row.
StatusOr<SensuSecretRecord> DecodeSensuSecretRecord(ByteSpan bytes);

}  // namespace strongroom::storage

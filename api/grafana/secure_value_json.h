// api/grafana/secure_value_json.h — the SecureValue resource's JSON (SPEC 6.1 and
// the Grafana seed): strict parsing of create/replace bodies with the
// seed's limits, and rendering of stored records. `spec.value` is read from
// requests into SecretBytes and never rendered.
// Thread-safety: functions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "storage/secure_value_record.h"

namespace strongroom::api {

inline constexpr std::string_view kSecretGroup = "secret.grafana.app";
inline constexpr std::string_view kSecretGroupVersion = "secret.grafana.app/v1beta1";
inline constexpr std::size_t kMaxDescriptionCharacters = 25;
inline constexpr std::size_t kMaxValueBytes = 24576;

struct SecureValueInput {
  std::string name;                             // metadata.name (may be empty on create)
  std::string generate_name;                    // metadata.generateName
  std::optional<std::string> resource_version;  // metadata.resourceVersion
  std::string description;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::vector<std::string> decrypters;
  SecretBytes value;
};

// ParseSecureValue parses and validates a request body for `namespace_name`.
// kInvalidArgument naming the field and rule: malformed JSON, wrong types,
// unknown fields, apiVersion/kind/namespace mismatches, description 1..25
// characters, value 1..24,576 bytes of valid UTF-8, at most 64 decrypters
// (each a valid name, no duplicates), label syntax. `for_create`: one of
// metadata.name / generateName is required; otherwise metadata.name, if
// present, must equal `path_name`.
// SECURITY: the JSON text holding the value is wiped before returning.
StatusOr<SecureValueInput> ParseSecureValue(std::string_view body, std::string_view namespace_name,
                                            bool for_create, std::string_view path_name);

// RenderSecureValue returns the SecureValue JSON object of a stored record.
std::string RenderSecureValue(const storage::SecureValueRecord& record);

// RenderSecureValueList returns a SecureValueList.
std::string RenderSecureValueList(const std::vector<storage::SecureValueRecord>& items,
                                  std::uint64_t resource_version,
                                  const std::string& continue_token);

}  // namespace strongroom::api

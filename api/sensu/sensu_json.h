// api/sensu/sensu_json.h — the JSON of Sensu secrets and providers (SPEC 6.3 and
// the Sensu seed): strict parsing of PUT bodies and rendering in the seed's
// shape and member order. The extension `spec.decrypters` is rendered only
// when it was set. A Sensu secret holds no value, only a reference.
// Thread-safety: functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/sensu_provider_record.h"
#include "storage/sensu_secret_record.h"

namespace strongroom::api {

inline constexpr std::string_view kSensuApiVersion = "secrets/v1";
inline constexpr std::string_view kProviderTypeStrongroom = "strongroom";
inline constexpr std::string_view kProviderTypeEnv = "env";
// The built-in provider: `spec.id` names a secure value of the namespace.
inline constexpr std::string_view kBuiltInProvider = "strongroom";

// ValidateSensuName: Sensu's resource names, 1..253 characters of
// [A-Za-z0-9_.-], not "." or "..". kInvalidArgument naming `field`.
Status ValidateSensuName(std::string_view name, std::string_view field);

struct SensuSecretInput {
  std::string id, provider;
  std::vector<std::pair<std::string, std::string>> labels, annotations;  // sorted by key
  std::optional<std::vector<std::string>> decrypters;
};

// ParseSensuSecret parses a PUT body for the secret `path_name` in
// `path_namespace`. kInvalidArgument naming the field: malformed JSON,
// unknown members, `type` other than "Secret", `api_version` other than
// "secrets/v1", metadata.name / metadata.namespace not those of the path
// (either may be left out), missing spec.id or spec.provider, label rules,
// decrypters (at most 64 distinct service names). metadata.created_by is
// accepted and ignored: it is always the actor's.
StatusOr<SensuSecretInput> ParseSensuSecret(std::string_view body, std::string_view path_namespace,
                                            std::string_view path_name);

// RenderSensuSecret / RenderSensuSecretList return the seed's JSON.
std::string RenderSensuSecret(const storage::SensuSecretRecord& record);
std::string RenderSensuSecretList(const std::vector<storage::SensuSecretRecord>& records);

struct SensuProviderInput {
  std::string type;
  std::vector<std::string> allow;
};

// ParseSensuProvider parses a PUT body for the provider `path_name`:
// `type` "Provider", `api_version` "secrets/v1", metadata.name that of the
// path (or left out), spec.type "strongroom" or "env", spec.allow (env
// only) a list of variable names or "PREFIX*" patterns of
// [A-Za-z_][A-Za-z0-9_]* (a bare "*" is refused). kInvalidArgument.
StatusOr<SensuProviderInput> ParseSensuProvider(std::string_view body, std::string_view path_name);

// RenderSensuProvider / RenderSensuProviderList return SPEC 6.3's shape.
std::string RenderSensuProvider(const storage::SensuProviderRecord& record);
std::string RenderSensuProviderList(const std::vector<storage::SensuProviderRecord>& records);

// EnvAllowed tells whether variable `name` matches one of `allow`'s entries
// (an exact name, or a prefix ending in '*').
bool EnvAllowed(const std::vector<std::string>& allow, std::string_view name);

}  // namespace strongroom::api

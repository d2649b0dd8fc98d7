// api/wire/json_fields.h — the strict reading of request JSON
// that several resources share (unknown members refused, optional strings,
// label maps, decrypter lists). Every error is kInvalidArgument naming the
// field and the rule, and never echoes a value.
// Thread-safety: functions.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace strongroom::api {

inline constexpr std::size_t kMaxDecrypters = 64;
inline constexpr std::size_t kMaxLabels = 64;

// ParseJsonObject parses a request body that must be a JSON object whose
// members are all in `allowed` ("request body is not valid JSON", "... must
// be an object", "unknown field \"body.<name>\"").
StatusOr<nlohmann::json> ParseJsonObject(std::string_view body,
                                         std::initializer_list<std::string_view> allowed);

// CheckMembers requires `object` to be an object whose members are all in
// `allowed`; `where` names it in the error ("metadata").
Status CheckMembers(const nlohmann::json& object, std::string_view where,
                    std::initializer_list<std::string_view> allowed);

// OptionalString returns object[key] ("" when absent or null), or an error
// when it is not a string.
StatusOr<std::string> OptionalString(const nlohmann::json& object, const char* key,
                                     std::string_view where);

// ParseLabels reads a map of Kubernetes label keys to label values (at most
// kMaxLabels), sorted by key; `field` names it ("metadata.labels").
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseLabels(const nlohmann::json& value,
                                                                       std::string_view field);

// ParseDecrypters reads a list of at most kMaxDecrypters distinct service
// names (Kubernetes object names); `field` names it ("spec.decrypters").
StatusOr<std::vector<std::string>> ParseDecrypters(const nlohmann::json& value,
                                                   std::string_view field);

}  // namespace strongroom::api

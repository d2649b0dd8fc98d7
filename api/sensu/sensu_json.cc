#include "api/sensu/sensu_json.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/wire/json_fields.h"
#include "api/wire/k8s_names.h"
#include "base/utf8.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

constexpr std::size_t kMaxSensuName = 253;
constexpr std::size_t kMaxId = 1024;
constexpr std::size_t kMaxAllow = 64;
constexpr std::size_t kMaxVariableName = 128;  // an `allow` entry's variable name
constexpr std::size_t kMaxAnnotationBytes = 4096;

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

// CheckHeader checks the optional `type` and `api_version` members.
Status CheckHeader(const json& document, std::string_view type) {
  SR_ASSIGN_OR_RETURN(std::string given_type, OptionalString(document, "type", "body"));
  if (!given_type.empty() && given_type != type)
    return Invalid("type must be " + std::string(type));
  SR_ASSIGN_OR_RETURN(std::string version, OptionalString(document, "api_version", "body"));
  if (!version.empty() && version != kSensuApiVersion)
    return Invalid("api_version must be secrets/v1");
  return Status::Ok();
}

// CheckPathName: metadata.name, when given, is the path's.
Status CheckPathName(const json& metadata, std::string_view path_name) {
  SR_ASSIGN_OR_RETURN(std::string name, OptionalString(metadata, "name", "metadata"));
  if (!name.empty() && name != path_name) {
    return Invalid("metadata.name does not match the name in the path");
  }
  return Status::Ok();
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseAnnotations(const json& value) {
  if (!value.is_object()) return std::unexpected(Invalid("metadata.annotations must be an object"));
  if (value.size() > kMaxLabels) return std::unexpected(Invalid("metadata.annotations: too many"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      return std::unexpected(Invalid("metadata.annotations values must be strings"));
    }
    SR_RETURN_IF_ERROR(ValidateLabelKey(item.key()));
    const std::string& text = item.value().get_ref<const std::string&>();
    if (text.size() > kMaxAnnotationBytes || !IsValidUtf8(text)) {
      return std::unexpected(
          Invalid("metadata.annotations values must be valid UTF-8 of at most 4096 bytes"));
    }
    out.emplace_back(item.key(), text);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ParseSecretMetadata(const json& metadata, std::string_view path_namespace,
                           std::string_view path_name, SensuSecretInput& out) {
  SR_RETURN_IF_ERROR(CheckMembers(metadata, "metadata",
                                  {"name", "namespace", "labels", "annotations", "created_by"}));
  SR_RETURN_IF_ERROR(CheckPathName(metadata, path_name));
  SR_ASSIGN_OR_RETURN(std::string ns, OptionalString(metadata, "namespace", "metadata"));
  if (!ns.empty() && ns != path_namespace) {
    return Invalid("metadata.namespace does not match the namespace in the path");
  }
  SR_ASSIGN_OR_RETURN(std::string ignored, OptionalString(metadata, "created_by", "metadata"));
  if (auto it = metadata.find("labels"); it != metadata.end() && !it->is_null()) {
    SR_ASSIGN_OR_RETURN(out.labels, ParseLabels(*it, "metadata.labels"));
  }
  if (auto it = metadata.find("annotations"); it != metadata.end() && !it->is_null()) {
    SR_ASSIGN_OR_RETURN(out.annotations, ParseAnnotations(*it));
  }
  return Status::Ok();
}

Status ParseSecretSpec(const json& spec, SensuSecretInput& out) {
  SR_RETURN_IF_ERROR(CheckMembers(spec, "spec", {"id", "provider", "decrypters"}));
  SR_ASSIGN_OR_RETURN(out.id, OptionalString(spec, "id", "spec"));
  if (out.id.empty() || out.id.size() > kMaxId || !IsValidUtf8(out.id) ||
      std::any_of(out.id.begin(), out.id.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Invalid("spec.id is required: 1 to 1024 bytes of UTF-8 without control characters");
  }
  SR_ASSIGN_OR_RETURN(out.provider, OptionalString(spec, "provider", "spec"));
  if (out.provider.empty()) return Invalid("spec.provider is required");
  SR_RETURN_IF_ERROR(ValidateSensuName(out.provider, "spec.provider"));
  if (auto it = spec.find("decrypters"); it != spec.end() && !it->is_null()) {
    SR_ASSIGN_OR_RETURN(out.decrypters, ParseDecrypters(*it, "spec.decrypters"));
  }
  return Status::Ok();
}

ordered StringMap(const std::vector<std::pair<std::string, std::string>>& items) {
  ordered map = ordered::object();
  for (const auto& [key, value] : items) map[key] = value;
  return map;
}

ordered SecretJson(const storage::SensuSecretRecord& r) {
  ordered metadata = ordered::object();
  metadata["name"] = r.name;
  metadata["namespace"] = r.namespace_name;
  if (!r.labels.empty()) metadata["labels"] = StringMap(r.labels);
  if (!r.annotations.empty()) metadata["annotations"] = StringMap(r.annotations);
  metadata["created_by"] = r.created_by;
  ordered spec = ordered::object();
  spec["id"] = r.id;
  spec["provider"] = r.provider;
  if (r.decrypters) spec["decrypters"] = *r.decrypters;
  ordered object = ordered::object();
  object["type"] = "Secret";
  object["api_version"] = kSensuApiVersion;
  object["metadata"] = std::move(metadata);
  object["spec"] = std::move(spec);
  return object;
}

ordered ProviderJson(const storage::SensuProviderRecord& r) {
  ordered metadata = ordered::object();
  metadata["name"] = r.name;
  if (!r.created_by.empty()) metadata["created_by"] = r.created_by;
  ordered spec = ordered::object();
  spec["type"] = r.type;
  if (r.type == kProviderTypeEnv) spec["allow"] = r.allow;
  ordered object = ordered::object();
  object["type"] = "Provider";
  object["api_version"] = kSensuApiVersion;
  object["metadata"] = std::move(metadata);
  object["spec"] = std::move(spec);
  return object;
}

std::string Dump(const ordered& value) {
  return value.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

Status ValidateAllowEntry(std::string_view entry) {
  std::string_view name = entry;
  if (!name.empty() && name.back() == '*') name.remove_suffix(1);
  bool valid = !name.empty() && name.size() <= kMaxVariableName &&
               (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
               });
  if (!valid) {
    return Invalid(
        "spec.allow entries are variable names or prefixes ending in '*' ([A-Za-z_][A-Za-z0-9_]*); "
        "a bare '*' is refused");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateSensuName(std::string_view name, std::string_view field) {
  bool valid =
      !name.empty() && name.size() <= kMaxSensuName && name != "." && name != ".." &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      });
  if (!valid) {
    return Invalid(std::string(field) + " must be 1 to 253 characters of A-Z, a-z, 0-9, '_', '.' " +
                   "and '-'");
  }
  return Status::Ok();
}

StatusOr<SensuSecretInput> ParseSensuSecret(std::string_view body, std::string_view path_namespace,
                                            std::string_view path_name) {
  SR_ASSIGN_OR_RETURN(json document,
                      ParseJsonObject(body, {"type", "api_version", "metadata", "spec"}));
  SR_RETURN_IF_ERROR(CheckHeader(document, "Secret"));
  SensuSecretInput input;
  if (auto it = document.find("metadata"); it != document.end() && !it->is_null()) {
    SR_RETURN_IF_ERROR(ParseSecretMetadata(*it, path_namespace, path_name, input));
  }
  auto spec = document.find("spec");
  if (spec == document.end()) return std::unexpected(Invalid("spec is required"));
  SR_RETURN_IF_ERROR(ParseSecretSpec(*spec, input));
  return input;
}

std::string RenderSensuSecret(const storage::SensuSecretRecord& record) {
  return Dump(SecretJson(record));
}

std::string RenderSensuSecretList(const std::vector<storage::SensuSecretRecord>& records) {
  ordered list = ordered::array();
  for (const auto& record : records) list.push_back(SecretJson(record));
  return Dump(list);
}

StatusOr<SensuProviderInput> ParseSensuProvider(std::string_view body, std::string_view path_name) {
  SR_ASSIGN_OR_RETURN(json document,
                      ParseJsonObject(body, {"type", "api_version", "metadata", "spec"}));
  SR_RETURN_IF_ERROR(CheckHeader(document, "Provider"));
  if (auto it = document.find("metadata"); it != document.end() && !it->is_null()) {
    SR_RETURN_IF_ERROR(CheckMembers(*it, "metadata", {"name", "created_by"}));
    SR_RETURN_IF_ERROR(CheckPathName(*it, path_name));
  }
  auto spec = document.find("spec");
  if (spec == document.end()) return std::unexpected(Invalid("spec is required"));
  SR_RETURN_IF_ERROR(CheckMembers(*spec, "spec", {"type", "allow"}));
  SensuProviderInput input;
  SR_ASSIGN_OR_RETURN(input.type, OptionalString(*spec, "type", "spec"));
  if (input.type != kProviderTypeStrongroom && input.type != kProviderTypeEnv) {
    return std::unexpected(Invalid("spec.type must be \"strongroom\" or \"env\""));
  }
  if (auto it = spec->find("allow"); it != spec->end() && !it->is_null()) {
    if (input.type != kProviderTypeEnv) {
      return std::unexpected(Invalid("spec.allow applies to env providers only"));
    }
    if (!it->is_array() || it->size() > kMaxAllow) {
      return std::unexpected(Invalid("spec.allow must be an array of at most 64 strings"));
    }
    for (const json& entry : *it) {
      if (!entry.is_string()) return std::unexpected(Invalid("spec.allow must hold strings"));
      SR_RETURN_IF_ERROR(ValidateAllowEntry(entry.get_ref<const std::string&>()));
      input.allow.push_back(entry.get<std::string>());
    }
  }
  return input;
}

std::string RenderSensuProvider(const storage::SensuProviderRecord& record) {
  return Dump(ProviderJson(record));
}

std::string RenderSensuProviderList(const std::vector<storage::SensuProviderRecord>& records) {
  ordered list = ordered::array();
  for (const auto& record : records) list.push_back(ProviderJson(record));
  return Dump(list);
}

bool EnvAllowed(const std::vector<std::string>& allow, std::string_view name) {
  return std::any_of(allow.begin(), allow.end(), [&](const std::string& entry) {
    if (!entry.empty() && entry.back() == '*') {
      return name.substr(0, entry.size() - 1) ==
             std::string_view(entry).substr(0, entry.size() - 1);
    }
    return name == entry;
  });
}

}  // namespace strongroom::api

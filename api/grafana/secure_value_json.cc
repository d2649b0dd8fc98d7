#include "api/grafana/secure_value_json.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/wire/json_fields.h"
#include "api/wire/k8s_names.h"
#include "base/utf8.h"

namespace strongroom::api {
namespace {

using nlohmann::json;

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

std::size_t CodePoints(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Status ParseMetadata(const json& metadata, std::string_view namespace_name, SecureValueInput& out) {
  SR_RETURN_IF_ERROR(CheckMembers(metadata, "metadata",
                                  {"name", "generateName", "namespace", "labels", "resourceVersion",
                                   "uid", "creationTimestamp", "annotations"}));
  SR_ASSIGN_OR_RETURN(out.name, OptionalString(metadata, "name", "metadata"));
  SR_ASSIGN_OR_RETURN(out.generate_name, OptionalString(metadata, "generateName", "metadata"));
  SR_ASSIGN_OR_RETURN(std::string ns, OptionalString(metadata, "namespace", "metadata"));
  if (!ns.empty() && ns != namespace_name) {
    return Invalid("metadata.namespace does not match the namespace in the path");
  }
  if (auto it = metadata.find("resourceVersion"); it != metadata.end() && !it->is_null()) {
    if (!it->is_string()) return Invalid("metadata.resourceVersion must be a string");
    if (!it->get<std::string>().empty()) out.resource_version = it->get<std::string>();
  }
  for (const char* ignored : {"uid", "creationTimestamp"}) {
    if (auto it = metadata.find(ignored);
        it != metadata.end() && !it->is_string() && !it->is_null()) {
      return Invalid(std::string("metadata.") + ignored + " must be a string");
    }
  }
  if (auto it = metadata.find("annotations"); it != metadata.end() && !it->is_null()) {
    if (!it->is_object() || !it->empty()) return Invalid("metadata.annotations are not supported");
  }
  if (auto it = metadata.find("labels"); it != metadata.end() && !it->is_null()) {
    SR_ASSIGN_OR_RETURN(out.labels, ParseLabels(*it, "metadata.labels"));
  }
  return Status::Ok();
}

Status ParseSpec(json& spec, SecureValueInput& out) {
  SR_RETURN_IF_ERROR(CheckMembers(spec, "spec", {"description", "value", "decrypters"}));
  auto description = spec.find("description");
  if (description == spec.end() || !description->is_string()) {
    return Invalid("spec.description is required and must be a string");
  }
  out.description = description->get<std::string>();
  std::size_t characters = CodePoints(out.description);
  if (characters < 1 || characters > kMaxDescriptionCharacters) {
    return Invalid("spec.description must have 1 to 25 characters");
  }
  if (auto decrypters = spec.find("decrypters");
      decrypters != spec.end() && !decrypters->is_null()) {
    SR_ASSIGN_OR_RETURN(out.decrypters, ParseDecrypters(*decrypters, "spec.decrypters"));
  }
  auto value = spec.find("value");
  if (value == spec.end() || !value->is_string()) {
    return Invalid("spec.value is required and must be a string");
  }
  std::string& text = value->get_ref<std::string&>();
  Status checked = Status::Ok();
  if (text.empty() || text.size() > kMaxValueBytes) {
    checked = Invalid("spec.value must have 1 to 24576 bytes");
  } else if (!IsValidUtf8(text)) {
    checked = Invalid("spec.value is not valid UTF-8");
  } else {
    StatusOr<SecretBytes> copied = SecretBytes::CopyFrom(text);
    if (copied.has_value()) {
      out.value = std::move(*copied);
    } else {
      checked = copied.error();
    }
  }
  OPENSSL_cleanse(text.data(), text.size());
  return checked;
}

std::string CreationTimestamp(std::int64_t micros) {
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

json ToJson(const storage::SecureValueRecord& r) {
  json metadata = json::object();
  metadata["name"] = r.name;
  metadata["namespace"] = r.namespace_name;
  metadata["uid"] = r.uid;
  metadata["resourceVersion"] = std::to_string(r.resource_version);
  metadata["creationTimestamp"] = CreationTimestamp(r.created_micros);
  if (!r.labels.empty()) {
    json labels = json::object();
    for (const auto& [key, value] : r.labels) labels[key] = value;
    metadata["labels"] = std::move(labels);
  }
  json spec = json::object();
  spec["description"] = r.description;
  spec["decrypters"] = r.decrypters;
  json object = json::object();
  object["apiVersion"] = kSecretGroupVersion;
  object["kind"] = "SecureValue";
  object["metadata"] = std::move(metadata);
  object["spec"] = std::move(spec);
  object["status"] = json::object();
  return object;
}

}  // namespace

StatusOr<SecureValueInput> ParseSecureValue(std::string_view body, std::string_view namespace_name,
                                            bool for_create, std::string_view path_name) {
  json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return std::unexpected(Invalid("request body is not valid JSON"));
  SecureValueInput input;
  Status parsed = [&]() -> Status {
    SR_RETURN_IF_ERROR(
        CheckMembers(document, "body", {"apiVersion", "kind", "metadata", "spec", "status"}));
    SR_ASSIGN_OR_RETURN(std::string api_version, OptionalString(document, "apiVersion", "body"));
    if (!api_version.empty() && api_version != kSecretGroupVersion) {
      return Invalid("apiVersion must be secret.grafana.app/v1beta1");
    }
    SR_ASSIGN_OR_RETURN(std::string kind, OptionalString(document, "kind", "body"));
    if (!kind.empty() && kind != "SecureValue") return Invalid("kind must be SecureValue");
    if (auto status = document.find("status"); status != document.end() && !status->is_null() &&
                                               (!status->is_object() || !status->empty())) {
      return Invalid("status is read-only");
    }
    auto metadata = document.find("metadata");
    if (metadata != document.end())
      SR_RETURN_IF_ERROR(ParseMetadata(*metadata, namespace_name, input));
    auto spec = document.find("spec");
    if (spec == document.end()) return Invalid("spec is required");
    SR_RETURN_IF_ERROR(ParseSpec(*spec, input));
    if (for_create) {
      if (input.name.empty() && input.generate_name.empty()) {
        return Invalid("metadata.name or metadata.generateName is required");
      }
      if (!input.name.empty()) SR_RETURN_IF_ERROR(ValidateObjectName(input.name));
    } else if (input.name != path_name) {
      // As Kubernetes: a replace names its object; generateName does not.
      // The body's name is echoed only when it is a valid object name.
      std::string shown = ValidateObjectName(input.name).ok() ? input.name : std::string();
      return Invalid("the name of the object (" + shown + ") does not match the name on the URL (" +
                     std::string(path_name) + ")");
    }
    return Status::Ok();
  }();
  // Wipe every string the document holds (the value was wiped in ParseSpec
  // already if it was reached; a rejected body may still hold it).
  if (auto spec = document.find("spec"); spec != document.end() && spec->is_object()) {
    if (auto value = spec->find("value"); value != spec->end() && value->is_string()) {
      std::string& text = value->get_ref<std::string&>();
      OPENSSL_cleanse(text.data(), text.size());
    }
  }
  SR_RETURN_IF_ERROR(parsed);
  return input;
}

std::string RenderSecureValue(const storage::SecureValueRecord& record) {
  return ToJson(record).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RenderSecureValueList(const std::vector<storage::SecureValueRecord>& items,
                                  std::uint64_t resource_version,
                                  const std::string& continue_token) {
  json list = json::object();
  list["apiVersion"] = kSecretGroupVersion;
  list["kind"] = "SecureValueList";
  json metadata = json::object();
  metadata["resourceVersion"] = std::to_string(resource_version);
  if (!continue_token.empty()) metadata["continue"] = continue_token;
  list["metadata"] = std::move(metadata);
  json array = json::array();
  for (const auto& item : items) array.push_back(ToJson(item));
  list["items"] = std::move(array);
  return list.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace strongroom::api

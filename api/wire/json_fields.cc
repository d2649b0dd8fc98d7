#include "api/wire/json_fields.h"

#include <algorithm>
#include <set>

#include "api/wire/k8s_names.h"

namespace strongroom::api {
namespace {

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

}  // namespace

StatusOr<nlohmann::json> ParseJsonObject(std::string_view body,
                                         std::initializer_list<std::string_view> allowed) {
  nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return std::unexpected(Invalid("request body is not valid JSON"));
  if (!document.is_object()) return std::unexpected(Invalid("request body must be an object"));
  SR_RETURN_IF_ERROR(CheckMembers(document, "body", allowed));
  return document;
}

Status CheckMembers(const nlohmann::json& object, std::string_view where,
                    std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return Invalid(std::string(where) + " must be an object");
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      std::string key = item.key().substr(0, 64);
      return Invalid("unknown field \"" + std::string(where) + "." + key + "\"");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> OptionalString(const nlohmann::json& object, const char* key,
                                     std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return std::unexpected(Invalid(std::string(where) + "." + key + " must be a string"));
  return it->get<std::string>();
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseLabels(const nlohmann::json& value,
                                                                       std::string_view field) {
  const std::string where(field);
  if (!value.is_object()) return std::unexpected(Invalid(where + " must be an object of strings"));
  if (value.size() > kMaxLabels) {
    return std::unexpected(Invalid(where + ": at most " + std::to_string(kMaxLabels) + " labels"));
  }
  std::vector<std::pair<std::string, std::string>> labels;
  for (const auto& label : value.items()) {
    if (!label.value().is_string())
      return std::unexpected(Invalid(where + " values must be strings"));
    SR_RETURN_IF_ERROR(ValidateLabelKey(label.key()));
    SR_RETURN_IF_ERROR(ValidateLabelValue(label.value().get_ref<const std::string&>()));
    labels.emplace_back(label.key(), label.value().get<std::string>());
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

StatusOr<std::vector<std::string>> ParseDecrypters(const nlohmann::json& value,
                                                   std::string_view field) {
  const std::string where(field);
  if (!value.is_array()) return std::unexpected(Invalid(where + " must be an array of strings"));
  if (value.size() > kMaxDecrypters) {
    return std::unexpected(
        Invalid(where + ": at most " + std::to_string(kMaxDecrypters) + " items"));
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const nlohmann::json& item : value) {
    if (!item.is_string()) return std::unexpected(Invalid(where + " must be an array of strings"));
    const std::string& name = item.get_ref<const std::string&>();
    SR_RETURN_IF_ERROR(ValidateObjectName(name, where + "[]"));
    if (!seen.insert(name).second)
      return std::unexpected(Invalid(where + " has a duplicate entry"));
    out.push_back(name);
  }
  return out;
}

}  // namespace strongroom::api

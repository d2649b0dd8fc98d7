// A batch decrypt's body, {"names": [...]} (api/decrypt/decrypt.h).
#include <nlohmann/json.hpp>
#include <set>

#include "api/decrypt/decrypt.h"
#include "api/wire/k8s_names.h"

namespace strongroom::api {
namespace {

constexpr std::size_t kMaxBatchNames = 100;

}  // namespace

StatusOr<std::vector<std::string>> BatchNames(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("names") ||
      !parsed["names"].is_array()) {
    return std::unexpected(Status::InvalidArgument("the body must be {\"names\": [...]}"));
  }
  const nlohmann::json& names = parsed["names"];
  if (names.empty() || names.size() > kMaxBatchNames) {
    return std::unexpected(Status::InvalidArgument("names must hold 1 to " +
                                                   std::to_string(kMaxBatchNames) + " names"));
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const nlohmann::json& name : names) {
    if (!name.is_string()) return std::unexpected(Status::InvalidArgument("names must be strings"));
    std::string text = name.get<std::string>();
    SR_RETURN_IF_ERROR(ValidateObjectName(text, "names[]"));
    if (seen.insert(text).second) out.push_back(std::move(text));
  }
  return out;
}

}  // namespace strongroom::api

#include "policies/json_members.h"

#include <algorithm>

namespace strongroom::policies {
namespace {

using nlohmann::json;

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

const json& ValueAt(const SourceDocument& document, const std::string& pointer) {
  return document.root().at(json::json_pointer(pointer));
}

Status CheckObject(const SourceDocument& document, const std::string& pointer,
                   std::string_view what, std::initializer_list<std::string_view> allowed) {
  const json& value = ValueAt(document, pointer);
  if (!value.is_object()) return document.Error(pointer, std::string(what) + " must be an object");
  for (const auto& member : value.items()) {
    if (std::find(allowed.begin(), allowed.end(), member.key()) == allowed.end()) {
      return document.Error(ChildPointer(pointer, member.key()),
                            "unknown member " + Quoted(member.key()) + " in " + std::string(what));
    }
  }
  return Status::Ok();
}

StatusOr<std::string> StringMember(const SourceDocument& document, const std::string& pointer,
                                   std::string_view key, bool required) {
  const json& object = ValueAt(document, pointer);
  auto it = object.find(key);
  if (it == object.end()) {
    if (!required) return std::string();
    return std::unexpected(document.Error(pointer, "missing member " + Quoted(key)));
  }
  std::string member_pointer = ChildPointer(pointer, key);
  if (!it->is_string()) {
    return std::unexpected(document.Error(member_pointer, Quoted(key) + " must be a string"));
  }
  if (it->get_ref<const std::string&>().empty()) {
    return std::unexpected(document.Error(member_pointer, Quoted(key) + " must not be empty"));
  }
  return it->get<std::string>();
}

StatusOr<const json*> ArrayMember(const SourceDocument& document, const std::string& pointer,
                                  std::string_view key, bool required) {
  const json& object = ValueAt(document, pointer);
  auto it = object.find(key);
  if (it == object.end()) {
    if (!required) return nullptr;
    return std::unexpected(document.Error(pointer, "missing member " + Quoted(key)));
  }
  if (!it->is_array()) {
    return std::unexpected(
        document.Error(ChildPointer(pointer, key), Quoted(key) + " must be an array"));
  }
  return &*it;
}

}  // namespace strongroom::policies

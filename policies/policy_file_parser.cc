#include "policies/policy_file_parser.h"

#include <algorithm>
#include <functional>

#include "policies/actions.h"
#include "policies/built_in_roles.h"
#include "policies/fingerprint.h"
#include "policies/json_members.h"
#include "policies/names.h"
#include "policies/scopes.h"

namespace strongroom::policies {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescription = 256;

// ForEachElement calls `add` with the pointer of each element of the array
// member `key` of the root object (if present), stopping at the first error.
Status ForEachElement(const SourceDocument& document, std::string_view key,
                      const std::function<Status(const std::string&)>& add) {
  SR_ASSIGN_OR_RETURN(const json* array, ArrayMember(document, "", key, false));
  if (array == nullptr) return Status::Ok();
  std::string array_pointer = ChildPointer("", key);
  for (std::size_t i = 0; i < array->size(); ++i) {
    SR_RETURN_IF_ERROR(add(ChildPointer(array_pointer, i)));
  }
  return Status::Ok();
}

// ExactlyOneOf returns the one present member of `names` in the object at
// `pointer`, or an error saying exactly one must be there.
StatusOr<std::string_view> ExactlyOneOf(const SourceDocument& document, const std::string& pointer,
                                        std::initializer_list<std::string_view> names) {
  const json& object = ValueAt(document, pointer);
  std::string_view found;
  std::string listed;
  for (std::string_view name : names) {
    listed += (listed.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    if (!object.contains(name)) continue;
    if (!found.empty()) {
      return std::unexpected(
          document.Error(ChildPointer(pointer, name), "only one of " + listed + " may be given"));
    }
    found = name;
  }
  if (found.empty()) {
    return std::unexpected(document.Error(pointer, "exactly one of " + listed + " is required"));
  }
  return found;
}

}  // namespace

PolicyFileParser::PolicyFileParser() : policy_(new Policy()) {}

Status PolicyFileParser::AddRoles(const SourceDocument& document) {
  SR_RETURN_IF_ERROR(CheckObject(document, "", "a policy file",
                                 {"roles", "bindings", "certificates", "services"}));
  // Type-check every top-level member now, so a file is refused whole before
  // any of its bindings is looked at.
  for (std::string_view key : {"bindings", "certificates", "services"}) {
    SR_RETURN_IF_ERROR(ArrayMember(document, "", key, false));
  }
  return ForEachElement(document, "roles",
                        [&](const std::string& pointer) { return AddRole(document, pointer); });
}

Status PolicyFileParser::AddBindingsAndIdentities(const SourceDocument& document,
                                                  std::string_view file_name) {
  SR_RETURN_IF_ERROR(ForEachElement(document, "bindings", [&](const std::string& pointer) {
    return AddBinding(document, pointer, file_name);
  }));
  SR_RETURN_IF_ERROR(ForEachElement(document, "certificates", [&](const std::string& pointer) {
    return AddCertificate(document, pointer);
  }));
  return ForEachElement(document, "services",
                        [&](const std::string& pointer) { return AddService(document, pointer); });
}

std::shared_ptr<const Policy> PolicyFileParser::Finish(std::size_t file_count) {
  policy_->file_count_ = file_count;
  return std::move(policy_);
}

Status PolicyFileParser::AddRole(const SourceDocument& document, const std::string& pointer) {
  SR_RETURN_IF_ERROR(
      CheckObject(document, pointer, "a role", {"name", "description", "permissions"}));
  Role role;
  SR_ASSIGN_OR_RETURN(role.name, StringMember(document, pointer, "name", true));
  std::string name_pointer = ChildPointer(pointer, "name");
  if (!IsValidRoleName(role.name)) {
    return document.Error(name_pointer, "role name must be 1-64 letters, digits, '.', '_' or '-'");
  }
  if (IsBuiltInRoleName(role.name)) {
    return document.Error(name_pointer,
                          "role \"" + role.name + "\" is the name of a built-in role");
  }
  if (policy_->FindRole(role.name) != nullptr) {
    return document.Error(name_pointer, "role \"" + role.name + "\" is defined twice");
  }
  SR_ASSIGN_OR_RETURN(role.description, StringMember(document, pointer, "description", false));
  if (role.description.size() > kMaxDescription) {
    return document.Error(ChildPointer(pointer, "description"),
                          "description is longer than 256 bytes");
  }
  SR_ASSIGN_OR_RETURN(const json* permissions, ArrayMember(document, pointer, "permissions", true));
  std::string permissions_pointer = ChildPointer(pointer, "permissions");
  for (std::size_t i = 0; i < permissions->size(); ++i) {
    SR_RETURN_IF_ERROR(AddPermission(document, ChildPointer(permissions_pointer, i), role));
  }
  policy_->roles_.push_back(std::move(role));
  return Status::Ok();
}

Status PolicyFileParser::AddPermission(const SourceDocument& document, const std::string& pointer,
                                       Role& role) {
  SR_RETURN_IF_ERROR(CheckObject(document, pointer, "a permission", {"action", "scope"}));
  Permission permission;
  SR_ASSIGN_OR_RETURN(permission.action, StringMember(document, pointer, "action", true));
  SR_ASSIGN_OR_RETURN(permission.scope, StringMember(document, pointer, "scope", true));
  const ActionInfo* action = FindAction(permission.action);
  if (action == nullptr) {
    return document.Error(ChildPointer(pointer, "action"),
                          "unknown action \"" + permission.action + "\"");
  }
  Status scope = CheckScope(*action, permission.scope);
  if (!scope.ok()) return document.Error(ChildPointer(pointer, "scope"), scope.message());
  role.permissions.push_back(std::move(permission));
  return Status::Ok();
}

Status PolicyFileParser::AddBinding(const SourceDocument& document, const std::string& pointer,
                                    std::string_view file_name) {
  SR_RETURN_IF_ERROR(
      CheckObject(document, pointer, "a binding", {"user", "service", "role", "namespace"}));
  SR_ASSIGN_OR_RETURN(std::string_view subject_member,
                      ExactlyOneOf(document, pointer, {"user", "service"}));
  Binding binding;
  binding.subject.kind = subject_member == "user" ? SubjectKind::kUser : SubjectKind::kService;
  SR_ASSIGN_OR_RETURN(binding.subject.name, StringMember(document, pointer, subject_member, true));
  SR_ASSIGN_OR_RETURN(binding.role, StringMember(document, pointer, "role", true));
  SR_ASSIGN_OR_RETURN(binding.namespace_name, StringMember(document, pointer, "namespace", true));
  std::optional<Policy::BindingProblem> problem = policy_->FindBindingProblem(binding);
  if (problem.has_value()) {
    return document.Error(ChildPointer(pointer, problem->member), problem->reason);
  }
  binding.source = std::string(file_name) + ":" + std::to_string(document.LineOf(pointer));
  policy_->bindings_.push_back(std::move(binding));
  return Status::Ok();
}

Status PolicyFileParser::AddCertificate(const SourceDocument& document,
                                        const std::string& pointer) {
  SR_RETURN_IF_ERROR(CheckObject(document, pointer, "a certificate entry", {"sha256", "user"}));
  SR_ASSIGN_OR_RETURN(std::string sha256, StringMember(document, pointer, "sha256", true));
  SR_ASSIGN_OR_RETURN(std::string user, StringMember(document, pointer, "user", true));
  std::string sha256_pointer = ChildPointer(pointer, "sha256");
  std::optional<std::string> fingerprint = NormalizeFingerprint(sha256);
  if (!fingerprint.has_value()) {
    return document.Error(sha256_pointer, "sha256 must be 64 hex digits (colons allowed)");
  }
  if (!IsValidSubjectName(user)) {
    return document.Error(ChildPointer(pointer, "user"), "user name is not valid");
  }
  auto& users = policy_->certificate_users_;
  if (std::any_of(users.begin(), users.end(), [&](const CertificateUser& entry) {
        return entry.fingerprint_sha256 == *fingerprint;
      })) {
    return document.Error(sha256_pointer, "certificate fingerprint is listed twice");
  }
  users.push_back(CertificateUser{std::move(*fingerprint), std::move(user)});
  return Status::Ok();
}

Status PolicyFileParser::AddService(const SourceDocument& document, const std::string& pointer) {
  SR_RETURN_IF_ERROR(CheckObject(document, pointer, "a service entry", {"match", "name"}));
  std::string match_pointer = ChildPointer(pointer, "match");
  if (!ValueAt(document, pointer).contains("match")) {
    return document.Error(pointer, "missing member \"match\"");
  }
  SR_RETURN_IF_ERROR(
      CheckObject(document, match_pointer, "a service match", {"subject", "san_dns", "san_uri"}));
  SR_ASSIGN_OR_RETURN(std::string_view field,
                      ExactlyOneOf(document, match_pointer, {"subject", "san_dns", "san_uri"}));
  ServiceMapping mapping;
  mapping.field = field == "subject"   ? ServiceMapping::Field::kSubject
                  : field == "san_dns" ? ServiceMapping::Field::kDnsSan
                                       : ServiceMapping::Field::kUriSan;
  SR_ASSIGN_OR_RETURN(mapping.value, StringMember(document, match_pointer, field, true));
  SR_ASSIGN_OR_RETURN(mapping.name, StringMember(document, pointer, "name", true));
  if (!IsValidSubjectName(mapping.name)) {
    return document.Error(ChildPointer(pointer, "name"), "service name is not valid");
  }
  auto& mappings = policy_->service_mappings_;
  if (std::any_of(mappings.begin(), mappings.end(), [&](const ServiceMapping& other) {
        return other.field == mapping.field &&
               EqualsIgnoringAsciiCase(other.value, mapping.value) &&
               (mapping.field == ServiceMapping::Field::kDnsSan || other.value == mapping.value);
      })) {
    return document.Error(ChildPointer(match_pointer, field), "this match is listed twice");
  }
  mappings.push_back(std::move(mapping));
  return Status::Ok();
}

}  // namespace strongroom::policies

#include "policies/policy.h"

#include <algorithm>

#include "policies/actions.h"
#include "policies/built_in_roles.h"
#include "policies/names.h"

namespace strongroom::policies {
namespace {

bool GrantsDecrypt(const Role& role) {
  return std::any_of(role.permissions.begin(), role.permissions.end(),
                     [](const Permission& p) { return IsDecryptAction(p.action); });
}

std::string_view SubjectMember(SubjectKind kind) {
  return kind == SubjectKind::kUser ? "user" : "service";
}

}  // namespace

Policy::Policy() : roles_(BuiltInRoles()) {}

std::shared_ptr<const Policy> Policy::BuiltIn() {
  static const std::shared_ptr<const Policy> built_in(new Policy());
  return built_in;
}

const Role* Policy::FindRole(std::string_view name) const {
  auto it = std::find_if(roles_.begin(), roles_.end(),
                         [&](const Role& role) { return role.name == name; });
  return it == roles_.end() ? nullptr : &*it;
}

std::vector<std::string> Policy::RoleNames() const {
  std::vector<std::string> names;
  names.reserve(roles_.size());
  for (const Role& role : roles_) names.push_back(role.name);
  return names;
}

std::vector<Binding> Policy::BindingsFor(const Subject& subject) const {
  std::vector<Binding> found;
  for (const Binding& binding : bindings_) {
    if (binding.subject.kind == subject.kind && binding.subject.name == subject.name) {
      found.push_back(binding);
    }
  }
  return found;
}

CertificateIdentity Policy::IdentifyCertificate(const CertificateFacts& facts) const {
  return policies::IdentifyCertificate(certificate_users_, service_mappings_, facts);
}

Status Policy::ValidateBinding(const Binding& binding) const {
  std::optional<BindingProblem> problem = FindBindingProblem(binding);
  if (problem.has_value()) return Status::InvalidArgument(std::move(problem->reason));
  return Status::Ok();
}

std::optional<Policy::BindingProblem> Policy::FindBindingProblem(const Binding& binding) const {
  std::string_view member = SubjectMember(binding.subject.kind);
  if (!IsValidSubjectName(binding.subject.name)) {
    return BindingProblem{member, std::string(member) +
                                      " name must be 1-253 bytes without control characters "
                                      "or a leading or trailing space"};
  }
  const Role* role = FindRole(binding.role);
  if (role == nullptr) return BindingProblem{"role", "unknown role \"" + binding.role + "\""};
  if (!IsValidBindingNamespace(binding.namespace_name)) {
    return BindingProblem{"namespace", "namespace \"" + binding.namespace_name +
                                           "\" must be \"*\" or an RFC 1123 label (1-63 "
                                           "lowercase letters, digits or '-')"};
  }
  if (role->name == kAuditorRole && binding.namespace_name != "*") {
    return BindingProblem{"namespace", "the Auditor role may only be bound to namespace \"*\""};
  }
  // SECURITY: humans never decrypt (SPEC 7). Allows() refuses it anyway;
  // refusing the binding keeps a policy from saying something it cannot mean.
  if (binding.subject.kind == SubjectKind::kUser && GrantsDecrypt(*role)) {
    return BindingProblem{"role", "role \"" + role->name +
                                      "\" grants decrypt and cannot be bound to a user "
                                      "(humans never decrypt)"};
  }
  return std::nullopt;
}

}  // namespace strongroom::policies

#include "policies/authorizer.h"

#include <algorithm>

#include "policies/actions.h"
#include "policies/scopes.h"

namespace strongroom::policies {
namespace {

// NameCoverage: which names of the request a scope must cover.
enum class NameCoverage { kExactName, kSomeName };

bool NamespaceMatches(std::string_view bound, std::string_view requested) {
  return bound == "*" || (!requested.empty() && bound == requested);
}

bool RoleGrants(const Role& role, const ActionInfo& action, std::string_view name,
                NameCoverage coverage) {
  return std::any_of(role.permissions.begin(), role.permissions.end(), [&](const Permission& p) {
    if (p.action != action.action) return false;
    // A loaded policy holds only valid scopes, so any scope covers some name.
    return coverage == NameCoverage::kSomeName || ScopeCovers(action, p.scope, name);
  });
}

bool BindingsGrant(const Policy& policy, SubjectKind subject_kind,
                   std::span<const Binding> bindings, const AccessRequest& request,
                   NameCoverage coverage) {
  const ActionInfo* action = FindAction(request.action);
  if (action == nullptr) return false;
  // SECURITY: humans never decrypt (SPEC 7), whatever the bindings say.
  if (action->decrypt && subject_kind == SubjectKind::kUser) return false;
  for (const Binding& binding : bindings) {
    if (binding.subject.kind != subject_kind) continue;
    if (!NamespaceMatches(binding.namespace_name, request.namespace_name)) continue;
    const Role* role = policy.FindRole(binding.role);
    if (role == nullptr || !policy.ValidateBinding(binding).ok()) continue;
    if (RoleGrants(*role, *action, request.name, coverage)) return true;
  }
  return false;
}

}  // namespace

bool Allows(const Policy& policy, SubjectKind subject_kind, std::span<const Binding> bindings,
            const AccessRequest& request) {
  return BindingsGrant(policy, subject_kind, bindings, request, NameCoverage::kExactName);
}

bool AllowsSomeName(const Policy& policy, SubjectKind subject_kind,
                    std::span<const Binding> bindings, std::string_view action,
                    std::string_view namespace_name) {
  AccessRequest request{action, namespace_name, ""};
  return BindingsGrant(policy, subject_kind, bindings, request, NameCoverage::kSomeName);
}

bool RoleAllows(const Policy& policy, std::string_view role_name, std::string_view role_namespace,
                const AccessRequest& request) {
  const ActionInfo* action = FindAction(request.action);
  const Role* role = policy.FindRole(role_name);
  if (action == nullptr || role == nullptr) return false;
  if (!NamespaceMatches(role_namespace, request.namespace_name)) return false;
  return RoleGrants(*role, *action, request.name, NameCoverage::kExactName);
}

}  // namespace strongroom::policies

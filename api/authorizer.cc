#include "api/authorizer.h"

#include "api/accounts.h"

namespace strongroom::api {
namespace {

using policies::Binding;
using policies::Subject;
using policies::SubjectKind;

// SubjectBindings gathers the bindings of a user or service.
StatusOr<std::vector<Binding>> SubjectBindings(const policies::Policy& policy,
                                               const storage::ReadTxn& txn, const Subject& subject,
                                               bool server_admin) {
  std::vector<Binding> bindings = policy.BindingsFor(subject);
  SR_ASSIGN_OR_RETURN(std::vector<Binding> stored, StoredBindings(txn, subject));
  bindings.insert(bindings.end(), stored.begin(), stored.end());
  if (server_admin) bindings.push_back(Binding{subject, "ServerAdmin", "*", "server-admin"});
  return bindings;
}

struct Resolved {
  SubjectKind kind = SubjectKind::kUser;
  std::vector<Binding> bindings;
  bool valid = false;
};

StatusOr<Resolved> Resolve(const policies::Policy& policy, const storage::ReadTxn& txn,
                           const Principal& principal) {
  Resolved resolved;
  switch (principal.kind) {
    case Principal::Kind::kAnonymous:
      return resolved;
    case Principal::Kind::kService: {
      resolved.kind = SubjectKind::kService;
      SR_ASSIGN_OR_RETURN(
          resolved.bindings,
          SubjectBindings(policy, txn, {SubjectKind::kService, principal.name}, false));
      break;
    }
    case Principal::Kind::kUser:
    case Principal::Kind::kToken: {
      // Re-read the user: a demoted or deleted owner takes effect at once.
      StatusOr<storage::UserRecord> user = FindUser(txn, principal.name);
      if (!user.has_value()) {
        if (user.error().code() == StatusCode::kNotFound) return resolved;
        return std::unexpected(user.error());
      }
      SR_ASSIGN_OR_RETURN(
          resolved.bindings,
          SubjectBindings(policy, txn, {SubjectKind::kUser, principal.name}, user->server_admin));
      break;
    }
  }
  resolved.valid = true;
  return resolved;
}

}  // namespace

StatusOr<bool> Authorize(const policies::Policy& policy, const storage::ReadTxn& txn,
                         const Principal& principal, const policies::AccessRequest& request) {
  SR_ASSIGN_OR_RETURN(Resolved resolved, Resolve(policy, txn, principal));
  if (!resolved.valid) return false;
  if (!policies::Allows(policy, resolved.kind, resolved.bindings, request)) return false;
  if (principal.kind == Principal::Kind::kToken) {
    return policies::RoleAllows(policy, principal.token_role, principal.token_namespace, request);
  }
  return true;
}

StatusOr<bool> AuthorizeSomeName(const policies::Policy& policy, const storage::ReadTxn& txn,
                                 const Principal& principal, std::string_view action,
                                 std::string_view namespace_name) {
  SR_ASSIGN_OR_RETURN(Resolved resolved, Resolve(policy, txn, principal));
  if (!resolved.valid) return false;
  if (!policies::AllowsSomeName(policy, resolved.kind, resolved.bindings, action, namespace_name)) {
    return false;
  }
  if (principal.kind == Principal::Kind::kToken) {
    // The token's role must reach the namespace too (any name).
    std::vector<Binding> token_binding = {Binding{{SubjectKind::kUser, principal.name},
                                                  principal.token_role,
                                                  principal.token_namespace,
                                                  "token"}};
    return policies::AllowsSomeName(policy, SubjectKind::kUser, token_binding, action,
                                    namespace_name);
  }
  return true;
}

}  // namespace strongroom::api

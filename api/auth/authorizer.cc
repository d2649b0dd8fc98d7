#include "api/auth/authorizer.h"

#include <unordered_map>

#include "accounts/accounts.h"

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
  SR_ASSIGN_OR_RETURN(std::vector<Binding> stored, accounts::StoredBindings(txn, subject));
  bindings.insert(bindings.end(), stored.begin(), stored.end());
  if (server_admin) bindings.push_back(Binding{subject, "ServerAdmin", "*", "server-admin"});
  return bindings;
}

struct Resolved {
  SubjectKind kind = SubjectKind::kUser;
  std::shared_ptr<const std::vector<Binding>> bindings;  // set when valid
  bool valid = false;
};

// ServiceBindings caches, per thread, the bindings of the services it
// served: a decrypt would otherwise copy the policy's bindings and scan the
// stored ones on every request. An entry holds while the policy object and
// the store's policy generation (bumped by every binding change) are the
// ones it was resolved under. Per thread, so no lock is shared.
class ServiceBindings {
 public:
  using Bindings = std::shared_ptr<const std::vector<Binding>>;

  StatusOr<Bindings> Get(const policies::Policy& policy, const storage::ReadTxn& txn,
                         const std::string& name) {
    const std::uint64_t generation = txn.generation(storage::CacheKind::kPolicy);
    auto it = entries_.find(name);
    if (it != entries_.end() && it->second.policy.get() == &policy &&
        it->second.generation == generation) {
      return it->second.bindings;
    }
    SR_ASSIGN_OR_RETURN(std::vector<Binding> resolved,
                        SubjectBindings(policy, txn, {SubjectKind::kService, name}, false));
    auto bindings = std::make_shared<const std::vector<Binding>>(std::move(resolved));
    // The entry keeps its policy alive, so the address it compares is never
    // a newer policy's. A policy not owned by a shared_ptr is not cached.
    std::shared_ptr<const policies::Policy> keep = policy.weak_from_this().lock();
    if (keep == nullptr) return bindings;
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[name] = Entry{std::move(keep), generation, bindings};
    return bindings;
  }

 private:
  static constexpr std::size_t kMaxEntries = 1024;
  struct Entry {
    std::shared_ptr<const policies::Policy> policy;
    std::uint64_t generation = 0;
    Bindings bindings;
  };
  std::unordered_map<std::string, Entry> entries_;
};

StatusOr<Resolved> Resolve(const policies::Policy& policy, const storage::ReadTxn& txn,
                           const Principal& principal) {
  Resolved resolved;
  switch (principal.kind) {
    case Principal::Kind::kAnonymous:
      return resolved;
    case Principal::Kind::kService: {
      thread_local ServiceBindings cache;
      resolved.kind = SubjectKind::kService;
      SR_ASSIGN_OR_RETURN(resolved.bindings, cache.Get(policy, txn, principal.name));
      break;
    }
    case Principal::Kind::kUser:
    case Principal::Kind::kToken: {
      // Re-read the user: a demoted or deleted owner takes effect at once.
      StatusOr<storage::UserRecord> user = accounts::FindUser(txn, principal.name);
      if (!user.has_value()) {
        if (user.error().code() == StatusCode::kNotFound) return resolved;
        return std::unexpected(user.error());
      }
      SR_ASSIGN_OR_RETURN(
          std::vector<Binding> bindings,
          SubjectBindings(policy, txn, {SubjectKind::kUser, principal.name}, user->server_admin));
      resolved.bindings = std::make_shared<const std::vector<Binding>>(std::move(bindings));
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
  if (!policies::Allows(policy, resolved.kind, *resolved.bindings, request)) return false;
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
  if (!policies::AllowsSomeName(policy, resolved.kind, *resolved.bindings, action,
                                namespace_name)) {
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

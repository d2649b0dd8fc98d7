// policies/policy.h — one loaded RBAC policy: built-in and custom roles, the
// file bindings and the certificate identity mappings (SPEC sections 4, 7).
//
// A Policy is immutable once loaded; a reload builds a new one and swaps the
// shared_ptr, so a request always sees one consistent policy.
// Thread-safety: every const method is safe from any number of threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "policies/certificate_identity.h"
#include "policies/role.h"
#include "policies/subject.h"

namespace strongroom::policies {

// Policies are shared (std::shared_ptr<const Policy>): a cache keyed on one
// can keep it alive (weak_from_this) so its address is never another's.
class Policy : public std::enable_shared_from_this<Policy> {
 public:
  // LoadDirectory reads every regular file named *.json directly in `dir`, in
  // name order (see policies/default/README.md for the format) and returns
  // the policy they describe together with the built-in roles.
  // kNotFound when `dir` does not exist. Any other problem refuses the whole
  // load with kInvalidArgument "<file path>:<line>: <reason>", line being the
  // 1-based line of the offending value.
  static StatusOr<std::shared_ptr<const Policy>> LoadDirectory(const std::string& dir);

  // BuiltIn returns a policy of only the built-in roles: no bindings, no
  // identity mappings. The same shared instance on every call.
  static std::shared_ptr<const Policy> BuiltIn();

  // FindRole returns the built-in or custom role named `name` (exact case),
  // or nullptr. The pointer lives as long as this policy.
  const Role* FindRole(std::string_view name) const;

  // RoleNames returns the built-in role names in SPEC 7's order, then the
  // custom ones in load order.
  std::vector<std::string> RoleNames() const;

  // bindings returns the bindings from the files, in load order.
  std::span<const Binding> bindings() const { return bindings_; }

  // BindingsFor returns the file bindings of `subject` (same kind and name).
  std::vector<Binding> BindingsFor(const Subject& subject) const;

  // IdentifyCertificate: a fingerprint entry makes the certificate that user
  // (it takes precedence); else a service: a `services` match on subject, a
  // DNS SAN or the URI SAN gives its name; else the CN. More than one URI SAN
  // -> kNone ("ambiguous"), even if the CN exists. No CN and no match -> kNone.
  // See certificate_identity.h.
  CertificateIdentity IdentifyCertificate(const CertificateFacts& facts) const;

  // ValidateBinding checks a binding created at run time (e.g. `strongroom
  // user add --role R --namespace NS`) by the rules a file binding follows:
  // a valid subject name, a role of this policy, a namespace that is "*" or
  // an RFC 1123 label, Auditor only on "*", and no role granting a decrypt
  // action for a user. kInvalidArgument naming the rule otherwise.
  // SECURITY: humans never decrypt (SPEC 7); refusing such a binding makes
  // the intent visible instead of leaving a binding Allows() ignores.
  Status ValidateBinding(const Binding& binding) const;

  // file_count returns how many *.json files were loaded (0 for BuiltIn()).
  std::size_t file_count() const { return file_count_; }

 private:
  friend class PolicyFileParser;

  // BindingProblem: why a binding breaks the rules, and which of its members
  // ("user"/"service", "role", "namespace") is at fault.
  struct BindingProblem {
    std::string_view member;
    std::string reason;
  };

  // Policy() holds the built-in roles only.
  Policy();
  std::optional<BindingProblem> FindBindingProblem(const Binding& binding) const;

  std::vector<Role> roles_;  // built-in first, then custom in load order
  std::vector<Binding> bindings_;
  std::vector<CertificateUser> certificate_users_;
  std::vector<ServiceMapping> service_mappings_;
  std::size_t file_count_ = 0;
};

}  // namespace strongroom::policies

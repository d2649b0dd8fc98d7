// api/auth/policy_holder.h — the current RBAC policy (SPEC section 7), replaced
// as a whole on reload so a request sees one consistent policy.
// Thread-safety: thread-safe; Get takes no lock.
#pragma once

#include <memory>
#include <string>

#include "base/shared_snapshot.h"
#include "base/status.h"
#include "policies/policies.h"

namespace strongroom::api {

class PolicyHolder {
 public:
  explicit PolicyHolder(std::string directory) : directory_(std::move(directory)) {}
  // Load reads the policy directory; on error the previous policy stays and
  // the error names file, line and reason.
  Status Load();
  std::shared_ptr<const policies::Policy> Get() const;
  const std::string& directory() const { return directory_; }

 private:
  const std::string directory_;
  // Read by every request without a lock (base/shared_snapshot.h).
  SharedSnapshot<policies::Policy> policy_;
};

}  // namespace strongroom::api

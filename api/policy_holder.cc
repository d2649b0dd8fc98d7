#include "api/policy_holder.h"

namespace strongroom::api {

Status PolicyHolder::Load() {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const policies::Policy> loaded,
                      policies::Policy::LoadDirectory(directory_));
  std::lock_guard lock(mu_);
  policy_ = std::move(loaded);
  return Status::Ok();
}

std::shared_ptr<const policies::Policy> PolicyHolder::Get() const {
  std::lock_guard lock(mu_);
  return policy_ ? policy_ : policies::Policy::BuiltIn();
}

}  // namespace strongroom::api

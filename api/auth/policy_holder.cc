#include "api/auth/policy_holder.h"

namespace strongroom::api {

Status PolicyHolder::Load() {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const policies::Policy> loaded,
                      policies::Policy::LoadDirectory(directory_));
  policy_.Set(std::move(loaded));
  return Status::Ok();
}

std::shared_ptr<const policies::Policy> PolicyHolder::Get() const {
  std::shared_ptr<const policies::Policy> policy = policy_.Get();
  return policy ? policy : policies::Policy::BuiltIn();
}

}  // namespace strongroom::api

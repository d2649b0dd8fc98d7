// policies/role.h — permissions and roles (SPEC section 7).
// Thread-safety: plain values.
#pragma once

#include <string>
#include <vector>

namespace strongroom::policies {

// Permission: one action (see actions.h) on the records its scope covers (see
// scopes.h). A loaded policy holds only known actions with valid scopes.
struct Permission {
  std::string action;
  std::string scope;
};

// Role: a named set of permissions. Built-in roles are SPEC 7's table; custom
// roles come from policy files and may not reuse a built-in name.
struct Role {
  std::string name;
  std::string description;
  std::vector<Permission> permissions;
  bool built_in = false;
};

}  // namespace strongroom::policies

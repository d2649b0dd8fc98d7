// policies/built_in_roles.h — the built-in roles of SPEC 7's table.
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include "policies/role.h"

namespace strongroom::policies {

// BuiltInRoles returns Viewer, Editor, Admin, Decrypter, Auditor and
// ServerAdmin, in that order, each with built_in = true.
std::vector<Role> BuiltInRoles();

// IsBuiltInRoleName: `name` equals a built-in role's name, ignoring case (a
// custom "admin" next to the built-in "Admin" would only confuse readers).
bool IsBuiltInRoleName(std::string_view name);

// kAuditorRole may only be bound to every namespace ("*").
inline constexpr std::string_view kAuditorRole = "Auditor";

}  // namespace strongroom::policies

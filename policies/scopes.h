// policies/scopes.h — what a permission's scope may say and which records it
// covers (SPEC section 7).
//
// For an action of resource kind K ("secret.securevalues", "sensu.secrets"):
//   "*", "K:*" and "K:name:*" cover every name; "K:name:<n>" covers exactly n.
// For an action without a resource kind: "*" or one of the action's seed
// scopes (ActionInfo::scope_aliases), each covering everything.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "base/status.h"
#include "policies/actions.h"

namespace strongroom::policies {

// CheckScope returns OK when `scope` is a well-formed scope for `action`, else
// kInvalidArgument whose message is the reason (no file or line).
Status CheckScope(const ActionInfo& action, std::string_view scope);

// ScopeCovers: `scope` (REQUIRES: CheckScope accepted it for `action`) covers
// the record `name`. An empty `name` means "the whole collection": only a
// scope that covers every name covers it.
bool ScopeCovers(const ActionInfo& action, std::string_view scope, std::string_view name);

}  // namespace strongroom::policies

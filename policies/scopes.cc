#include "policies/scopes.h"

#include <algorithm>
#include <string>

namespace strongroom::policies {
namespace {

constexpr std::size_t kMaxRecordName = 253;

// A record name in a scope: the characters Kubernetes and Sensu names use.
bool IsRecordName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRecordName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// SplitNamedScope: `scope` has the form "<kind>:name:<n>"; sets *name to <n>.
bool SplitNamedScope(std::string_view kind, std::string_view scope, std::string_view* name) {
  if (!scope.starts_with(kind)) return false;
  std::string_view rest = scope.substr(kind.size());
  constexpr std::string_view kNamePart = ":name:";
  if (!rest.starts_with(kNamePart)) return false;
  *name = rest.substr(kNamePart.size());
  return true;
}

bool CoversEveryName(std::string_view kind, std::string_view scope) {
  if (scope == "*") return true;
  // "<kind>:*", compared in place: this runs for every authorization.
  if (scope.size() == kind.size() + 2 && scope.starts_with(kind) && scope.ends_with(":*")) {
    return true;
  }
  std::string_view name;
  return SplitNamedScope(kind, scope, &name) && name == "*";
}

}  // namespace

Status CheckScope(const ActionInfo& action, std::string_view scope) {
  if (scope == "*") return Status::Ok();
  if (action.resource_kind.empty()) {
    if (std::find(action.scope_aliases.begin(), action.scope_aliases.end(), scope) !=
        action.scope_aliases.end()) {
      return Status::Ok();
    }
    std::string allowed = "\"*\"";
    for (std::string_view alias : action.scope_aliases) {
      allowed += ", \"" + std::string(alias) + "\"";
    }
    return Status::InvalidArgument("scope \"" + std::string(scope) + "\" is not valid for \"" +
                                   std::string(action.action) + "\" (allowed: " + allowed + ")");
  }
  if (CoversEveryName(action.resource_kind, scope)) return Status::Ok();
  std::string_view name;
  if (SplitNamedScope(action.resource_kind, scope, &name) && IsRecordName(name)) {
    return Status::Ok();
  }
  std::string kind(action.resource_kind);
  return Status::InvalidArgument("scope \"" + std::string(scope) + "\" is not valid for \"" +
                                 std::string(action.action) + "\" (allowed: \"*\", \"" + kind +
                                 ":*\", \"" + kind + ":name:<name>\")");
}

bool ScopeCovers(const ActionInfo& action, std::string_view scope, std::string_view name) {
  if (action.resource_kind.empty()) return CheckScope(action, scope).ok();
  if (CoversEveryName(action.resource_kind, scope)) return true;
  if (name.empty()) return false;
  std::string_view scoped_name;
  return SplitNamedScope(action.resource_kind, scope, &scoped_name) && scoped_name == name;
}

}  // namespace strongroom::policies

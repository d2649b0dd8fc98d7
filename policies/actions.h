// policies/actions.h — the catalogue of every action Strongroom knows (SPEC
// section 7), with the resource kind its scopes name.
// Thread-safety: immutable tables; every function is safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace strongroom::policies {

// ActionInfo describes one catalogued action.
struct ActionInfo {
  // The exact action string, named as in the seeds ("secret.securevalues:read").
  std::string_view action;
  // The resource kind whose records a scope may name ("secret.securevalues"),
  // or empty for an action that is not about one record (scope "*" only, or
  // one of `scope_aliases`).
  std::string_view resource_kind;
  // Scopes the seeds give for an action without a resource kind ("users:*",
  // "global.users:*"); each means the same as "*" for that action.
  std::span<const std::string_view> scope_aliases;
  // True for the decrypt actions. SECURITY: these are never granted to a user.
  bool decrypt = false;
};

// IsKnownAction: the action is in the catalogue.
bool IsKnownAction(std::string_view action);

// FindAction returns the catalogue entry for `action`, or nullptr when the
// action is unknown. The pointer stays valid for the life of the program.
const ActionInfo* FindAction(std::string_view action);

// IsDecryptAction: `action` reveals a secret value (".../decrypt").
// SECURITY: Allows() never grants these to a user subject.
bool IsDecryptAction(std::string_view action);

// AllActions returns the whole catalogue, in the order it is written.
std::span<const ActionInfo> AllActions();

}  // namespace strongroom::policies

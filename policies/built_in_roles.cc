#include "policies/built_in_roles.h"

#include <algorithm>
#include <initializer_list>
#include <string>

#include "policies/actions.h"
#include "policies/names.h"

namespace strongroom::policies {
namespace {

// Scoped grants every name of the action's resource kind ("K:*"); the others
// get "*".
Permission Grant(std::string_view action) {
  const ActionInfo* info = FindAction(action);
  std::string scope = info != nullptr && !info->resource_kind.empty()
                          ? std::string(info->resource_kind) + ":*"
                          : std::string("*");
  return Permission{std::string(action), std::move(scope)};
}

void Add(Role& role, std::initializer_list<std::string_view> actions) {
  for (std::string_view action : actions) {
    bool present = std::any_of(role.permissions.begin(), role.permissions.end(),
                               [&](const Permission& p) { return p.action == action; });
    if (!present) role.permissions.push_back(Grant(action));
  }
}

Role Make(std::string name, std::string description) {
  return Role{std::move(name), std::move(description), {}, true};
}

}  // namespace

std::vector<Role> BuiltInRoles() {
  Role viewer = Make("Viewer", "Read secure values and Sensu secrets (never their values)");
  Add(viewer, {"secret.securevalues:read", "sensu.secrets:read"});

  Role editor = viewer;
  editor.name = "Editor";
  editor.description = "Viewer, plus create, change and delete secure values and Sensu secrets";
  Add(editor, {"secret.securevalues:create", "secret.securevalues:write",
               "secret.securevalues:delete", "sensu.secrets:write", "sensu.secrets:delete"});

  Role admin = editor;
  admin.name = "Admin";
  admin.description = "Editor, plus server statistics";
  Add(admin, {"server.stats:read"});

  Role decrypter = Make("Decrypter", "Decrypt secrets whose decrypters list the service");
  Add(decrypter, {"secret.securevalues:decrypt", "sensu.secrets:decrypt"});

  Role auditor = Make(
      "Auditor", "Read the audit log, statistics, metrics and the key inventory (every namespace)");
  Add(auditor, {"audit:read", "server.stats:read", "metrics:read", "inventory:read"});

  // ServerAdmin: everything above except decrypt, plus every users* action.
  Role server_admin = admin;
  server_admin.name = "ServerAdmin";
  server_admin.description = "Administer the server: users, tokens, keys, settings, providers";
  for (const Permission& p : auditor.permissions) Add(server_admin, {p.action});
  for (const ActionInfo& info : AllActions()) {
    if (info.action.starts_with("users:") || info.action.starts_with("users.")) {
      Add(server_admin, {info.action});
    }
  }
  Add(server_admin, {"keys:rotate", "settings:read", "provisioning:reload", "sensu.providers:read",
                     "sensu.providers:write", "metrics:read"});

  return {viewer, editor, admin, decrypter, auditor, server_admin};
}

bool IsBuiltInRoleName(std::string_view name) {
  for (const Role& role : BuiltInRoles()) {
    if (EqualsIgnoringAsciiCase(role.name, name)) return true;
  }
  return false;
}

}  // namespace strongroom::policies

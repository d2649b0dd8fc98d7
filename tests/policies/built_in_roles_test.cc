// The built-in roles grant exactly SPEC 7's table, and the action catalogue
// holds the seeds' names.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "policies/policies.h"

namespace strongroom::policies {
namespace {

const std::set<std::string> kViewer = {"secret.securevalues:read", "sensu.secrets:read"};
const std::set<std::string> kEditorExtra = {
    "secret.securevalues:create", "secret.securevalues:write", "secret.securevalues:delete",
    "sensu.secrets:write", "sensu.secrets:delete"};
const std::set<std::string> kDecrypter = {"secret.securevalues:decrypt", "sensu.secrets:decrypt"};
const std::set<std::string> kAuditor = {"audit:read", "server.stats:read", "metrics:read",
                                        "inventory:read"};
const std::set<std::string> kServerAdminExtra = {
    "users:create",          "users:read",
    "users:write",           "users:delete",
    "users.password:update", "users.permissions:update",
    "users.authtoken:list",  "users.authtoken:update",
    "users.logout",          "keys:rotate",
    "settings:read",         "provisioning:reload",
    "sensu.providers:read",  "sensu.providers:write"};

std::set<std::string> Union(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> all;
  for (const auto& s : sets) all.insert(s.begin(), s.end());
  return all;
}

std::map<std::string, std::set<std::string>> ExpectedGrants() {
  std::set<std::string> editor = Union({kViewer, kEditorExtra});
  std::set<std::string> admin = Union({editor, {"server.stats:read"}});
  return {{"Viewer", kViewer},   {"Editor", editor},
          {"Admin", admin},      {"Decrypter", kDecrypter},
          {"Auditor", kAuditor}, {"ServerAdmin", Union({admin, kAuditor, kServerAdminExtra})}};
}

TEST(BuiltInRoles, GrantExactlyTheSpecTableForEveryAction) {
  std::shared_ptr<const Policy> policy = Policy::BuiltIn();
  for (const auto& [role, grants] : ExpectedGrants()) {
    for (const ActionInfo& info : AllActions()) {
      AccessRequest request{info.action, "team-a", ""};
      EXPECT_EQ(RoleAllows(*policy, role, "*", request), grants.contains(std::string(info.action)))
          << role << " " << info.action;
    }
  }
}

TEST(BuiltInRoles, AreListedInSpecOrderAndMarkedBuiltIn) {
  std::shared_ptr<const Policy> policy = Policy::BuiltIn();
  EXPECT_EQ(policy->RoleNames(), (std::vector<std::string>{"Viewer", "Editor", "Admin", "Decrypter",
                                                           "Auditor", "ServerAdmin"}));
  for (const std::string& name : policy->RoleNames()) {
    const Role* role = policy->FindRole(name);
    ASSERT_NE(role, nullptr) << name;
    EXPECT_TRUE(role->built_in) << name;
    EXPECT_FALSE(role->description.empty()) << name;
  }
  EXPECT_EQ(policy->FindRole("viewer"), nullptr);
  EXPECT_TRUE(policy->bindings().empty());
  EXPECT_EQ(policy->file_count(), 0u);
}

TEST(BuiltInRoles, ServerAdminNeverGrantsDecrypt) {
  const Role* role = Policy::BuiltIn()->FindRole("ServerAdmin");
  ASSERT_NE(role, nullptr);
  for (const Permission& permission : role->permissions) {
    EXPECT_FALSE(IsDecryptAction(permission.action)) << permission.action;
  }
}

TEST(BuiltInRoles, ScopeRecordActionsToTheirWholeKind) {
  const Role* editor = Policy::BuiltIn()->FindRole("Editor");
  ASSERT_NE(editor, nullptr);
  for (const Permission& permission : editor->permissions) {
    const ActionInfo* info = FindAction(permission.action);
    ASSERT_NE(info, nullptr) << permission.action;
    EXPECT_EQ(permission.scope, std::string(info->resource_kind) + ":*");
  }
}

TEST(ActionCatalogue, KnowsTheSeedNamesAndNothingElse) {
  for (const char* action :
       {"secret.securevalues:create", "sensu.secrets:decrypt", "users.password:update",
        "users.authtoken:list", "users.logout", "provisioning:reload", "keys:rotate"}) {
    EXPECT_TRUE(IsKnownAction(action)) << action;
  }
  for (const char* action : {"", "*", "secret.securevalues:*", "users:*",
                             "Secret.SecureValues:read", "secret.securevalues:read "}) {
    EXPECT_FALSE(IsKnownAction(action)) << action;
  }
}

TEST(ActionCatalogue, MarksOnlyTheTwoDecryptActions) {
  std::set<std::string> decrypt;
  for (const ActionInfo& info : AllActions()) {
    if (info.decrypt) decrypt.insert(std::string(info.action));
    EXPECT_EQ(IsDecryptAction(info.action), info.decrypt) << info.action;
  }
  EXPECT_EQ(decrypt, kDecrypter);
}

}  // namespace
}  // namespace strongroom::policies

// Allows, AllowsSomeName and RoleAllows: deny by default, namespaces, name
// scopes, and humans never decrypt.

#include <gtest/gtest.h>

#include <vector>

#include "policies/policies.h"
#include "tests/policies/policy_dir.h"
#include "tests/support/status_matchers.h"

namespace strongroom::policies {
namespace {

Binding UserBinding(std::string role, std::string namespace_name) {
  return Binding{{SubjectKind::kUser, "alice"}, std::move(role), std::move(namespace_name), "test"};
}

Binding ServiceBinding(std::string role, std::string namespace_name) {
  return Binding{
      {SubjectKind::kService, "billing"}, std::move(role), std::move(namespace_name), "test"};
}

bool UserMay(const std::vector<Binding>& bindings, std::string_view action,
             std::string_view namespace_name, std::string_view name = "") {
  return Allows(*Policy::BuiltIn(), SubjectKind::kUser, bindings, {action, namespace_name, name});
}

bool ServiceMay(const std::vector<Binding>& bindings, std::string_view action,
                std::string_view namespace_name, std::string_view name = "") {
  return Allows(*Policy::BuiltIn(), SubjectKind::kService, bindings,
                {action, namespace_name, name});
}

TEST(Allows, DeniesWithoutBindings) {
  EXPECT_FALSE(UserMay({}, "secret.securevalues:read", "team-a"));
  EXPECT_FALSE(ServiceMay({}, "secret.securevalues:decrypt", "team-a", "db"));
}

struct RoleCase {
  const char* role;
  const char* action;
  bool granted;
};

// Each built-in role, bound to team-a, for several actions: granted in
// team-a only, and everywhere when bound to "*".
TEST(Allows, BuiltInRolesGrantInTheirOwnNamespaceOnly) {
  const RoleCase cases[] = {
      {"Viewer", "secret.securevalues:read", true},
      {"Viewer", "sensu.secrets:read", true},
      {"Viewer", "secret.securevalues:write", false},
      {"Viewer", "secret.securevalues:create", false},
      {"Editor", "secret.securevalues:create", true},
      {"Editor", "secret.securevalues:delete", true},
      {"Editor", "sensu.secrets:write", true},
      {"Editor", "secret.securevalues:decrypt", false},
      {"Admin", "secret.securevalues:write", true},
      {"Admin", "sensu.secrets:delete", true},
      {"Admin", "users:create", false},
      {"ServerAdmin", "secret.securevalues:read", true},
      {"ServerAdmin", "sensu.secrets:write", true},
      {"ServerAdmin", "secret.securevalues:decrypt", false},
  };
  for (const RoleCase& c : cases) {
    std::vector<Binding> own = {UserBinding(c.role, "team-a")};
    std::vector<Binding> everywhere = {UserBinding(c.role, "*")};
    EXPECT_EQ(UserMay(own, c.action, "team-a"), c.granted) << c.role << " " << c.action;
    EXPECT_FALSE(UserMay(own, c.action, "team-b")) << c.role << " " << c.action;
    EXPECT_EQ(UserMay(everywhere, c.action, "team-b"), c.granted) << c.role << " " << c.action;
  }
}

TEST(Allows, DecrypterGrantsAServiceDecryptInItsNamespaceOnly) {
  std::vector<Binding> bindings = {ServiceBinding("Decrypter", "default")};
  EXPECT_TRUE(ServiceMay(bindings, "secret.securevalues:decrypt", "default", "db"));
  EXPECT_TRUE(ServiceMay(bindings, "sensu.secrets:decrypt", "default", "db"));
  EXPECT_FALSE(ServiceMay(bindings, "secret.securevalues:decrypt", "prod", "db"));
  EXPECT_FALSE(ServiceMay(bindings, "secret.securevalues:read", "default", "db"));
  std::vector<Binding> everywhere = {ServiceBinding("Decrypter", "*")};
  EXPECT_TRUE(ServiceMay(everywhere, "secret.securevalues:decrypt", "prod", "db"));
}

TEST(Allows, HumansNeverDecryptWhateverTheBindingsSay) {
  // Such bindings cannot be loaded; handed over anyway, they grant nothing.
  std::vector<Binding> bindings = {UserBinding("Decrypter", "*"), UserBinding("ServerAdmin", "*")};
  EXPECT_FALSE(UserMay(bindings, "secret.securevalues:decrypt", "default", "db"));
  EXPECT_FALSE(UserMay(bindings, "sensu.secrets:decrypt", "default", "db"));
  EXPECT_FALSE(AllowsSomeName(*Policy::BuiltIn(), SubjectKind::kUser, bindings,
                              "secret.securevalues:decrypt", "default"));
  EXPECT_TRUE(UserMay(bindings, "secret.securevalues:read", "default"));
}

TEST(Allows, IgnoresBindingsOfAnotherSubjectKind) {
  std::vector<Binding> bindings = {UserBinding("Decrypter", "*")};
  EXPECT_FALSE(ServiceMay(bindings, "secret.securevalues:decrypt", "default", "db"));
  std::vector<Binding> service = {ServiceBinding("Editor", "*")};
  EXPECT_FALSE(UserMay(service, "secret.securevalues:write", "default"));
}

TEST(Allows, ClusterWideActionsNeedABindingToEveryNamespace) {
  std::vector<Binding> namespaced = {UserBinding("Admin", "team-a")};
  EXPECT_TRUE(UserMay(namespaced, "server.stats:read", "team-a"));
  EXPECT_FALSE(UserMay(namespaced, "server.stats:read", ""));
  std::vector<Binding> everywhere = {UserBinding("Admin", "*")};
  EXPECT_TRUE(UserMay(everywhere, "server.stats:read", ""));
  std::vector<Binding> server_admin = {UserBinding("ServerAdmin", "*")};
  for (const char* action : {"users:create", "users.password:update", "users.authtoken:update",
                             "keys:rotate", "settings:read", "provisioning:reload", "audit:read",
                             "metrics:read", "sensu.providers:write"}) {
    EXPECT_TRUE(UserMay(server_admin, action, "")) << action;
  }
}

TEST(Allows, AuditorGrantsOnlyWhenBoundToEveryNamespace) {
  EXPECT_TRUE(UserMay({UserBinding("Auditor", "*")}, "audit:read", ""));
  EXPECT_FALSE(UserMay({UserBinding("Auditor", "*")}, "secret.securevalues:read", "team-a"));
  // An Auditor binding to one namespace breaks the rules and grants nothing.
  EXPECT_FALSE(UserMay({UserBinding("Auditor", "team-a")}, "metrics:read", "team-a"));
}

TEST(Allows, DeniesUnknownRolesAndUnknownActions) {
  EXPECT_FALSE(UserMay({UserBinding("Superuser", "*")}, "secret.securevalues:read", "team-a"));
  EXPECT_FALSE(UserMay({UserBinding("ServerAdmin", "*")}, "secret.securevalues:*", "team-a"));
  EXPECT_FALSE(UserMay({UserBinding("ServerAdmin", "*")}, "", "team-a"));
}

TEST(Allows, AnyOneBindingIsEnough) {
  std::vector<Binding> bindings = {UserBinding("Viewer", "team-a"),
                                   UserBinding("Editor", "team-b")};
  EXPECT_TRUE(UserMay(bindings, "secret.securevalues:write", "team-b"));
  EXPECT_FALSE(UserMay(bindings, "secret.securevalues:write", "team-a"));
  EXPECT_TRUE(UserMay(bindings, "secret.securevalues:read", "team-a"));
}

class NameScopes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("roles.json", R"({"roles": [
      {"name": "DbReader", "permissions": [
        {"action": "secret.securevalues:read", "scope": "secret.securevalues:name:db-password"}]},
      {"name": "DbDecrypter", "permissions": [
        {"action": "secret.securevalues:decrypt", "scope": "secret.securevalues:name:db-password"}]},
      {"name": "KindWildcard", "permissions": [
        {"action": "secret.securevalues:decrypt", "scope": "secret.securevalues:*"}]},
      {"name": "AllNames", "permissions": [
        {"action": "sensu.secrets:read", "scope": "sensu.secrets:name:*"},
        {"action": "secret.securevalues:read", "scope": "*"}]}]})");
    StatusOr<std::shared_ptr<const Policy>> loaded = dir_.Load();
    ASSERT_OK(loaded);
    policy_ = *loaded;
  }
  bool May(SubjectKind kind, std::string role, std::string_view action, std::string_view name) {
    std::vector<Binding> bindings = {Binding{{kind, "x"}, std::move(role), "team-a", "test"}};
    return Allows(*policy_, kind, bindings, {action, "team-a", name});
  }

  PolicyDir dir_;
  std::shared_ptr<const Policy> policy_;
};

TEST_F(NameScopes, CoverExactlyTheNamedRecord) {
  EXPECT_TRUE(May(SubjectKind::kUser, "DbReader", "secret.securevalues:read", "db-password"));
  EXPECT_FALSE(May(SubjectKind::kUser, "DbReader", "secret.securevalues:read", "db-passwordx"));
  EXPECT_FALSE(May(SubjectKind::kUser, "DbReader", "secret.securevalues:read", "api-key"));
  EXPECT_TRUE(
      May(SubjectKind::kService, "DbDecrypter", "secret.securevalues:decrypt", "db-password"));
  EXPECT_FALSE(May(SubjectKind::kService, "DbDecrypter", "secret.securevalues:decrypt", "api-key"));
}

TEST_F(NameScopes, DoNotCoverTheWholeCollection) {
  EXPECT_FALSE(May(SubjectKind::kUser, "DbReader", "secret.securevalues:read", ""));
  std::vector<Binding> bindings = {Binding{{SubjectKind::kUser, "x"}, "DbReader", "team-a", "t"}};
  EXPECT_TRUE(
      AllowsSomeName(*policy_, SubjectKind::kUser, bindings, "secret.securevalues:read", "team-a"));
  EXPECT_FALSE(
      AllowsSomeName(*policy_, SubjectKind::kUser, bindings, "secret.securevalues:read", "team-b"));
  EXPECT_FALSE(AllowsSomeName(*policy_, SubjectKind::kUser, bindings, "secret.securevalues:write",
                              "team-a"));
}

TEST_F(NameScopes, WildcardScopesCoverEveryNameAndTheCollection) {
  EXPECT_TRUE(May(SubjectKind::kUser, "AllNames", "sensu.secrets:read", ""));
  EXPECT_TRUE(May(SubjectKind::kUser, "AllNames", "sensu.secrets:read", "anything"));
  EXPECT_TRUE(May(SubjectKind::kUser, "AllNames", "secret.securevalues:read", ""));
  EXPECT_TRUE(May(SubjectKind::kUser, "AllNames", "secret.securevalues:read", "api-key"));
}

TEST_F(NameScopes, AKindWildcardCoversEveryNameOfItsKindOnly) {
  EXPECT_TRUE(May(SubjectKind::kService, "KindWildcard", "secret.securevalues:decrypt", "api-key"));
  EXPECT_TRUE(May(SubjectKind::kService, "KindWildcard", "secret.securevalues:decrypt", ""));
  EXPECT_FALSE(May(SubjectKind::kService, "KindWildcard", "sensu.secrets:read", "api-key"));
}

TEST_F(NameScopes, ApplyToRoleAllowsToo) {
  EXPECT_TRUE(RoleAllows(*policy_, "DbReader", "team-a",
                         {"secret.securevalues:read", "team-a", "db-password"}));
  EXPECT_FALSE(RoleAllows(*policy_, "DbReader", "team-a",
                          {"secret.securevalues:read", "team-a", "api-key"}));
  EXPECT_FALSE(
      RoleAllows(*policy_, "DbReader", "team-a", {"secret.securevalues:read", "team-a", ""}));
}

TEST(RoleAllows, GrantsOnlyTheRoleInItsNamespace) {
  const Policy& policy = *Policy::BuiltIn();
  EXPECT_TRUE(RoleAllows(policy, "Viewer", "team-a", {"secret.securevalues:read", "team-a", "db"}));
  EXPECT_FALSE(
      RoleAllows(policy, "Viewer", "team-a", {"secret.securevalues:write", "team-a", "db"}));
  EXPECT_FALSE(
      RoleAllows(policy, "Viewer", "team-a", {"secret.securevalues:read", "team-b", "db"}));
  EXPECT_TRUE(RoleAllows(policy, "Viewer", "*", {"secret.securevalues:read", "team-b", "db"}));
  EXPECT_FALSE(RoleAllows(policy, "Admin", "team-a", {"server.stats:read", "", ""}));
  EXPECT_FALSE(RoleAllows(policy, "NoSuchRole", "*", {"secret.securevalues:read", "team-a", ""}));
}

}  // namespace
}  // namespace strongroom::policies

// Policy::LoadDirectory: what a policy directory may hold, and that every
// refusal names the file and the line of the offending value.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "policies/policies.h"
#include "tests/policies/policy_dir.h"
#include "tests/support/status_matchers.h"

namespace strongroom::policies {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(PolicyFiles, ShippedDefaultDirectoryLoads) {
  StatusOr<std::shared_ptr<const Policy>> loaded = Policy::LoadDirectory(SR_DEFAULT_POLICY_DIR);
  ASSERT_OK(loaded);
  const Policy& policy = **loaded;
  EXPECT_EQ(policy.file_count(), 2u);
  EXPECT_TRUE(policy.bindings().empty());
  const Role* rotator = policy.FindRole("SecretRotator");
  ASSERT_NE(rotator, nullptr);
  EXPECT_FALSE(rotator->built_in);
  EXPECT_TRUE(
      RoleAllows(policy, "SecretRotator", "team-a", {"secret.securevalues:write", "team-a", "db"}));
  EXPECT_FALSE(
      RoleAllows(policy, "SecretRotator", "team-a", {"secret.securevalues:read", "team-a", "db"}));
  EXPECT_NE(policy.FindRole("Viewer"), nullptr);
}

TEST(PolicyFiles, MissingDirectoryIsNotFound) {
  PolicyDir dir;
  StatusOr<std::shared_ptr<const Policy>> loaded = Policy::LoadDirectory(dir.path() + "/absent");
  ASSERT_STATUS(loaded, StatusCode::kNotFound);
}

TEST(PolicyFiles, EmptyDirectoryHoldsOnlyTheBuiltInRoles) {
  PolicyDir dir;
  StatusOr<std::shared_ptr<const Policy>> loaded = dir.Load();
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->file_count(), 0u);
  EXPECT_EQ((*loaded)->RoleNames(), Policy::BuiltIn()->RoleNames());
}

TEST(PolicyFiles, ReadsOnlyJsonFilesDirectlyInTheDirectory) {
  PolicyDir dir;
  dir.Write("notes.txt", "not json at all");
  dir.Write("roles.json.bak", "{broken");
  std::filesystem::create_directory(dir.path() + "/sub");
  dir.Write("sub/nested.json", "{broken");
  dir.Write("a.json", R"({"bindings": [{"user": "alice", "role": "Viewer", "namespace": "x"}]})");
  StatusOr<std::shared_ptr<const Policy>> loaded = dir.Load();
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->file_count(), 1u);
}

TEST(PolicyFiles, BindingsMayNameARoleFromALaterFile) {
  PolicyDir dir;
  dir.Write("a-bindings.json", R"({
  "bindings": [
    {"service": "rotator", "role": "Rotator", "namespace": "team-a"}
  ]
})");
  dir.Write("b-roles.json", R"({"roles": [{"name": "Rotator", "permissions": [
    {"action": "secret.securevalues:write", "scope": "secret.securevalues:*"}]}]})");
  StatusOr<std::shared_ptr<const Policy>> loaded = dir.Load();
  ASSERT_OK(loaded);
  const Policy& policy = **loaded;
  ASSERT_EQ(policy.bindings().size(), 1u);
  EXPECT_EQ(policy.bindings()[0].source, "a-bindings.json:3");
  std::vector<Binding> mine = policy.BindingsFor({SubjectKind::kService, "rotator"});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].role, "Rotator");
  EXPECT_TRUE(policy.BindingsFor({SubjectKind::kUser, "rotator"}).empty());
  EXPECT_TRUE(
      Allows(policy, SubjectKind::kService, mine, {"secret.securevalues:write", "team-a", "x"}));
}

TEST(PolicyFiles, KeepsFileOrderForRolesAndBindings) {
  PolicyDir dir;
  dir.Write("20.json", R"({"roles": [{"name": "Second", "permissions": []}],
    "bindings": [{"user": "bob", "role": "First", "namespace": "*"}]})");
  dir.Write("10.json", R"({"roles": [{"name": "First", "permissions": []}],
    "bindings": [{"user": "alice", "role": "Second", "namespace": "*"}]})");
  StatusOr<std::shared_ptr<const Policy>> loaded = dir.Load();
  ASSERT_OK(loaded);
  std::vector<std::string> names = (*loaded)->RoleNames();
  ASSERT_EQ(names.size(), 8u);
  EXPECT_EQ(names[6], "First");
  EXPECT_EQ(names[7], "Second");
  ASSERT_EQ((*loaded)->bindings().size(), 2u);
  EXPECT_EQ((*loaded)->bindings()[0].subject.name, "alice");
  EXPECT_EQ((*loaded)->bindings()[1].source, "20.json:2");
}

TEST(PolicyFileErrors, SyntaxErrorNamesItsLine) {
  PolicyDir dir;
  dir.Write("bindings.json", R"({
  "bindings": [
    {"user": "alice",
     "role": "Editor",
     "namespace": "team-a"},
    {"user": "bob",
     "role": "Viewer" "namespace": "x"}
  ]
})");
  std::string error = dir.LoadError();
  EXPECT_THAT(error, StartsWith(dir.Where("bindings.json", 7)));
  EXPECT_THAT(error, HasSubstr("syntax error"));
  EXPECT_THAT(error, ::testing::Not(HasSubstr("json.exception")));
}

TEST(PolicyFileErrors, EverySyntaxErrorNamesItsLine) {
  struct Case {
    const char* text;
    int line;
  };
  const Case cases[] = {
      {"{\n  \"roles\": [\n", 3},                                        // unterminated
      {"{}\n{}\n", 2},                                                   // trailing data
      {"{\n  // a comment\n}\n", 2},                                     // comments are not JSON
      {"{\"roles\": [],\n \"bindings\": [{\"user\": \"al\xff\"}]}", 2},  // invalid UTF-8
      {"", 1},
  };
  for (const Case& c : cases) {
    PolicyDir dir;
    dir.Write("a.json", c.text);
    EXPECT_THAT(dir.LoadError(), StartsWith(dir.Where("a.json", c.line))) << c.text;
  }
}

TEST(PolicyFileErrors, UnknownRoleInABindingNamesTheRoleLine) {
  PolicyDir dir;
  dir.Write("bindings.json", R"({
  "bindings": [
    {
      "user": "alice",
      "role": "Editor",
      "namespace": "team-a"
    },
    {
      "service": "billing",
      "namespace": "team-a",

      "role": "Edtor"
    }
  ]
})");
  EXPECT_EQ(dir.LoadError(), dir.Where("bindings.json", 12) + "unknown role \"Edtor\"");
}

TEST(PolicyFileErrors, OneBadFileRefusesTheWholeDirectory) {
  PolicyDir dir;
  dir.Write("a.json", R"({"bindings": [{"user": "alice", "role": "Viewer", "namespace": "x"}]})");
  dir.Write("b.json", "{\n\"roles\": 3}");
  EXPECT_EQ(dir.LoadError(), dir.Where("b.json", 2) + "\"roles\" must be an array");
}

TEST(PolicyFileErrors, UnknownMembersAreRefusedAtTheirLine) {
  PolicyDir top;
  top.Write("a.json", "{\n  \"roles\": [],\n  \"rules\": []\n}");
  EXPECT_EQ(top.LoadError(), top.Where("a.json", 3) + "unknown member \"rules\" in a policy file");
  PolicyDir binding;
  binding.Write("a.json", R"({"bindings": [
  {"user": "alice", "role": "Viewer", "namespace": "x",
   "expires": "never"}]})");
  EXPECT_EQ(binding.LoadError(),
            binding.Where("a.json", 3) + "unknown member \"expires\" in a binding");
  PolicyDir permission;
  permission.Write("a.json", R"({"roles": [{"name": "R", "permissions": [
  {"action": "secret.securevalues:read", "scope": "*", "effect": "allow"}]}]})");
  EXPECT_THAT(permission.LoadError(),
              StartsWith(permission.Where("a.json", 2) + "unknown member \"effect\""));
}

TEST(PolicyFileErrors, RepeatedMembersAreRefused) {
  PolicyDir dir;
  dir.Write("a.json", R"({
  "bindings": [
    {"user": "alice", "role": "Viewer",
     "role": "Admin", "namespace": "x"}
  ]
})");
  EXPECT_EQ(dir.LoadError(),
            dir.Where("a.json", 4) + "member \"role\" appears twice in one object");
}

TEST(PolicyFileErrors, WrongTypesNameTheValue) {
  PolicyDir top;
  top.Write("a.json", "[\n]");
  EXPECT_EQ(top.LoadError(), top.Where("a.json", 1) + "a policy file must be an object");
  PolicyDir element;
  element.Write("a.json",
                "{\"bindings\": [\n  {\"user\": \"a\", \"role\": \"Viewer\", \"namespace\": "
                "\"x\"},\n  7\n]}");
  EXPECT_EQ(element.LoadError(), element.Where("a.json", 3) + "a binding must be an object");
  PolicyDir member;
  member.Write(
      "a.json",
      "{\"bindings\": [{\"user\": \"a\",\n \"role\": [\"Viewer\"], \"namespace\": \"x\"}]}");
  EXPECT_EQ(member.LoadError(), member.Where("a.json", 2) + "\"role\" must be a string");
}

TEST(PolicyFileErrors, MissingMembersNameTheObjectLine) {
  PolicyDir dir;
  dir.Write("a.json", "{\"bindings\": [\n\n  {\"user\": \"alice\", \"role\": \"Viewer\"}]}");
  EXPECT_EQ(dir.LoadError(), dir.Where("a.json", 3) + "missing member \"namespace\"");
}

TEST(PolicyFileErrors, EmptyNamesAreRefused) {
  PolicyDir user;
  user.Write("a.json",
             "{\"bindings\": [\n  {\"user\": \"\", \"role\": \"Viewer\", \"namespace\": \"x\"}]}");
  EXPECT_EQ(user.LoadError(), user.Where("a.json", 2) + "\"user\" must not be empty");
  PolicyDir role;
  role.Write("a.json", "{\"roles\": [\n  {\"name\": \"\", \"permissions\": []}]}");
  EXPECT_EQ(role.LoadError(), role.Where("a.json", 2) + "\"name\" must not be empty");
}

TEST(PolicyFileErrors, ABindingNeedsExactlyOneSubject) {
  PolicyDir both;
  both.Write("a.json", R"({"bindings": [{"user": "a", "role": "Viewer", "namespace": "x",
    "service": "b"}]})");
  EXPECT_THAT(both.LoadError(), StartsWith(both.Where("a.json", 2) + "only one of"));
  PolicyDir none;
  none.Write("a.json", R"({"bindings": [{"role": "Viewer", "namespace": "x"}]})");
  EXPECT_THAT(none.LoadError(), StartsWith(none.Where("a.json", 1) + "exactly one of"));
}

TEST(PolicyFileErrors, BadNamespacesAreRefused) {
  for (const char* bad : {"Team-A", "team_a", "-team", "team-", "", "a.b",
                          "a123456789012345678901234567890123456789012345678901234567890123"}) {
    PolicyDir dir;
    dir.Write("a.json", std::string("{\"bindings\": [\n{\"user\": \"a\", \"role\": \"Viewer\",\n") +
                            "\"namespace\": \"" + bad + "\"}]}");
    EXPECT_THAT(dir.LoadError(), StartsWith(dir.Where("a.json", 3))) << bad;
  }
}

TEST(PolicyFileErrors, AuditorIsBoundOnlyToEveryNamespace) {
  PolicyDir dir;
  dir.Write("a.json", R"({"bindings": [
    {"user": "carol", "role": "Auditor", "namespace": "*"},
    {"user": "dave", "role": "Auditor",
     "namespace": "team-a"}]})");
  EXPECT_EQ(dir.LoadError(),
            dir.Where("a.json", 4) + "the Auditor role may only be bound to namespace \"*\"");
}

TEST(PolicyFileErrors, HumansAreNeverBoundToADecryptRole) {
  PolicyDir built_in;
  built_in.Write("a.json", R"({"bindings": [
    {"service": "billing", "role": "Decrypter", "namespace": "default"},
    {"user": "alice", "role": "Decrypter", "namespace": "default"}]})");
  EXPECT_THAT(built_in.LoadError(),
              StartsWith(built_in.Where("a.json", 3) + "role \"Decrypter\" grants decrypt"));
  PolicyDir custom;
  custom.Write("a.json", R"({"roles": [{"name": "Peek", "permissions": [
      {"action": "sensu.secrets:decrypt", "scope": "sensu.secrets:name:token"}]}],
    "bindings": [{"user": "alice", "role": "Peek", "namespace": "default"}]})");
  EXPECT_THAT(custom.LoadError(), HasSubstr("humans never decrypt"));
}

TEST(PolicyFileErrors, UnknownActionsAndBadScopesNameTheirLine) {
  PolicyDir action;
  action.Write("roles.json", R"({"roles": [{"name": "R", "permissions": [
    {"action": "secret.securevalues:read", "scope": "*"},
    {"action": "secret.securevalues:list", "scope": "*"}]}]})");
  EXPECT_EQ(action.LoadError(),
            action.Where("roles.json", 3) + "unknown action \"secret.securevalues:list\"");
  for (const char* bad : {"sensu.secrets:*", "secret.securevalues", "secret.securevalues:name:",
                          "secret.securevalues:name:a b", "secret.securevalues:uid:x", "**", ""}) {
    PolicyDir scope;
    scope.Write("roles.json", std::string(R"({"roles": [{"name": "R", "permissions": [
    {"action": "secret.securevalues:read",
     "scope": ")") + bad + "\"}]}]}");
    EXPECT_THAT(scope.LoadError(), StartsWith(scope.Where("roles.json", 3))) << bad;
  }
}

TEST(PolicyFileErrors, AdminActionsAcceptOnlyTheirSeedScopes) {
  PolicyDir good;
  good.Write("roles.json", R"({"roles": [{"name": "R", "permissions": [
    {"action": "users.password:update", "scope": "global.users:*"},
    {"action": "users:delete", "scope": "users:*"},
    {"action": "provisioning:reload", "scope": "provisioners:accesscontrol"},
    {"action": "settings:read", "scope": "settings:*"},
    {"action": "keys:rotate", "scope": "*"}]}]})");
  StatusOr<std::shared_ptr<const Policy>> loaded = good.Load();
  ASSERT_OK(loaded);
  EXPECT_TRUE(RoleAllows(**loaded, "R", "*", {"users.password:update", "", ""}));
  PolicyDir bad;
  bad.Write("roles.json", R"({"roles": [{"name": "R", "permissions": [
    {"action": "keys:rotate", "scope": "users:*"}]}]})");
  EXPECT_THAT(bad.LoadError(), StartsWith(bad.Where("roles.json", 2) + "scope \"users:*\""));
}

TEST(PolicyFileErrors, CustomRolesMayNotReuseABuiltInOrAnotherName) {
  PolicyDir built_in;
  built_in.Write("roles.json", "{\"roles\": [\n{\"name\": \"admin\", \"permissions\": []}]}");
  EXPECT_EQ(built_in.LoadError(),
            built_in.Where("roles.json", 2) + "role \"admin\" is the name of a built-in role");
  PolicyDir twice;
  twice.Write("a.json", "{\"roles\": [{\"name\": \"Ops\", \"permissions\": []}]}");
  twice.Write("b.json", "{\"roles\": [\n\n{\"name\": \"Ops\", \"permissions\": []}]}");
  EXPECT_EQ(twice.LoadError(), twice.Where("b.json", 3) + "role \"Ops\" is defined twice");
}

}  // namespace
}  // namespace strongroom::policies

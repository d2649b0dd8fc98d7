// Policy::ValidateBinding: bindings made at run time follow the file rules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policies/policies.h"
#include "tests/policies/policy_dir.h"
#include "tests/support/status_matchers.h"

namespace strongroom::policies {
namespace {

using ::testing::HasSubstr;

Status Validate(const Policy& policy, SubjectKind kind, std::string role, std::string ns) {
  return policy.ValidateBinding(
      Binding{{kind, "someone"}, std::move(role), std::move(ns), "store"});
}

TEST(ValidateBinding, AcceptsWhatAFileMayHold) {
  const Policy& policy = *Policy::BuiltIn();
  EXPECT_OK(Validate(policy, SubjectKind::kUser, "Editor", "team-a"));
  EXPECT_OK(Validate(policy, SubjectKind::kUser, "Auditor", "*"));
  EXPECT_OK(Validate(policy, SubjectKind::kService, "Decrypter", "default"));
}

TEST(ValidateBinding, RefusesWhatAFileMayNotHold) {
  const Policy& policy = *Policy::BuiltIn();
  Status unknown = Validate(policy, SubjectKind::kUser, "Editr", "team-a");
  EXPECT_STATUS(unknown, StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("unknown role"));
  EXPECT_STATUS(Validate(policy, SubjectKind::kUser, "Editor", "Team A"),
                StatusCode::kInvalidArgument);
  EXPECT_THAT(Validate(policy, SubjectKind::kUser, "Auditor", "team-a").message(),
              HasSubstr("Auditor"));
  EXPECT_THAT(Validate(policy, SubjectKind::kUser, "Decrypter", "default").message(),
              HasSubstr("humans never decrypt"));
  Status empty = policy.ValidateBinding(Binding{{SubjectKind::kUser, ""}, "Viewer", "x", "store"});
  EXPECT_STATUS(empty, StatusCode::kInvalidArgument);
}

TEST(ValidateBinding, KnowsTheCustomRolesOfItsPolicy) {
  PolicyDir dir;
  dir.Write("roles.json", R"({"roles": [{"name": "Rotator", "permissions": [
    {"action": "secret.securevalues:write", "scope": "*"}]}]})");
  StatusOr<std::shared_ptr<const Policy>> loaded = dir.Load();
  ASSERT_OK(loaded);
  EXPECT_OK(Validate(**loaded, SubjectKind::kUser, "Rotator", "team-a"));
  EXPECT_FALSE(Validate(*Policy::BuiltIn(), SubjectKind::kUser, "Rotator", "team-a").ok());
}

}  // namespace
}  // namespace strongroom::policies

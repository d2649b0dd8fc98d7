#include "api/wire/k8s_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

TEST(ObjectName, AcceptsTypicalNames) {
  EXPECT_OK(ValidateObjectName("api-key"));
  EXPECT_OK(ValidateObjectName("a"));
  EXPECT_OK(ValidateObjectName("db.prod-1.example"));
  EXPECT_OK(ValidateObjectName("0abc9"));
}

TEST(ObjectName, Accepts253CharactersAndRefuses254) {
  EXPECT_OK(ValidateObjectName(std::string(253, 'a')));
  Status status = ValidateObjectName(std::string(254, 'a'));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("253"), std::string::npos);
}

TEST(ObjectName, RefusesEmptyNamingTheField) {
  Status status = ValidateObjectName("", "spec.decrypters[]");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("spec.decrypters[]"), std::string::npos);
}

TEST(ObjectName, RefusesUppercaseUnderscoreAndSlash) {
  EXPECT_STATUS(ValidateObjectName("Api-key"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName("api_key"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName("api/key"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName("api key"), StatusCode::kInvalidArgument);
}

TEST(ObjectName, RefusesNonAlphanumericEnds) {
  EXPECT_STATUS(ValidateObjectName("-abc"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName("abc-"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName(".abc"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateObjectName("abc."), StatusCode::kInvalidArgument);
}

TEST(ObjectName, RefusesEmptyOrDashEdgedDotSeparatedParts) {
  for (const char* name : {"dot..dot", "label.-dash", "dash-.label", "a.-b.c"}) {
    EXPECT_STATUS(ValidateObjectName(name), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_OK(ValidateObjectName("provisioning.grafana.app"));
  EXPECT_OK(ValidateObjectName("a-b.c-d.e"));
}

TEST(ObjectName, MessageNamesFieldAndRule) {
  Status status = ValidateObjectName("Bad", "metadata.name");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("metadata.name"), std::string::npos);
  EXPECT_NE(status.message().find("lower case alphanumeric"), std::string::npos);
}

TEST(ObjectName, MessageEchoesAtMost64CharactersAndNoControlBytes) {
  std::string name = "X" + std::string(99, 'q') + "\x1b[31m\n";
  Status status = ValidateObjectName(name);
  EXPECT_EQ(status.message().find(std::string(65, 'q')), std::string::npos);
  EXPECT_NE(status.message().find(std::string(63, 'q')), std::string::npos);
  EXPECT_EQ(status.message().find('\x1b'), std::string::npos);
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
}

TEST(ObjectName, MessageReplacesControlCharactersInShortInput) {
  Status status = ValidateObjectName(std::string("a\x01\"b", 4));
  EXPECT_STATUS(status, StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().find('\x01'), std::string::npos);
  EXPECT_NE(status.message().find("a??b"), std::string::npos);
}

TEST(NamespaceName, Accepts63CharactersAndRefuses64) {
  EXPECT_OK(ValidateNamespaceName(std::string(63, 'n')));
  EXPECT_EQ(ValidateNamespaceName(std::string(64, 'n')).code(), StatusCode::kInvalidArgument);
}

TEST(NamespaceName, RefusesEmptyDotsAndBadEnds) {
  EXPECT_OK(ValidateNamespaceName("default"));
  EXPECT_OK(ValidateNamespaceName("team-1"));
  EXPECT_STATUS(ValidateNamespaceName(""), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateNamespaceName("a.b"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateNamespaceName("-a"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateNamespaceName("a-"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateNamespaceName("Default"), StatusCode::kInvalidArgument);
}

TEST(GenerateObjectName, AppendsFiveCharactersFromTheKubernetesAlphabet) {
  StatusOr<std::string> name = GenerateObjectName("api-key-");
  ASSERT_OK(name);
  ASSERT_EQ(name->size(), 8u + 5u);
  EXPECT_TRUE(name->starts_with("api-key-"));
  for (char c : name->substr(8)) {
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(c), std::string_view::npos) << c;
  }
  EXPECT_OK(ValidateObjectName(*name));
}

TEST(GenerateObjectName, DrawsDifferentNames) {
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i) names.insert(GenerateObjectName("x").value());
  EXPECT_GT(names.size(), 1u);
}

TEST(GenerateObjectName, TruncatesLongPrefixToAtMost253Characters) {
  StatusOr<std::string> name = GenerateObjectName(std::string(300, 'p'));
  ASSERT_OK(name);
  EXPECT_EQ(name->size(), 253u);
  EXPECT_TRUE(name->starts_with(std::string(248, 'p')));
}

TEST(GenerateObjectName, RefusesEmptyPrefix) {
  StatusOr<std::string> name = GenerateObjectName("");
  ASSERT_FALSE(name.has_value());
  EXPECT_STATUS(name, StatusCode::kInvalidArgument);
  EXPECT_NE(name.error().message().find("metadata.generateName"), std::string::npos);
}

TEST(GenerateObjectName, RefusesPrefixThatCannotMakeAValidName) {
  StatusOr<std::string> name = GenerateObjectName("Bad_");
  ASSERT_FALSE(name.has_value());
  EXPECT_STATUS(name, StatusCode::kInvalidArgument);
  EXPECT_NE(name.error().message().find("metadata.generateName"), std::string::npos);
  EXPECT_STATUS(GenerateObjectName("-abc"), StatusCode::kInvalidArgument);
}

TEST(LabelKey, AcceptsNamesWithAndWithoutPrefix) {
  EXPECT_OK(ValidateLabelKey("app"));
  EXPECT_OK(ValidateLabelKey("App_Name.v-1"));
  EXPECT_OK(ValidateLabelKey("example.com/tier"));
  EXPECT_OK(ValidateLabelKey("k8s.io/Team"));
}

TEST(LabelKey, Accepts63CharacterNameAndRefuses64) {
  EXPECT_OK(ValidateLabelKey(std::string(63, 'k')));
  EXPECT_STATUS(ValidateLabelKey(std::string(64, 'k')), StatusCode::kInvalidArgument);
  EXPECT_OK(ValidateLabelKey("example.com/" + std::string(63, 'k')));
  EXPECT_STATUS(ValidateLabelKey("example.com/" + std::string(64, 'k')),
                StatusCode::kInvalidArgument);
}

TEST(LabelKey, Accepts253CharacterPrefixAndRefuses254) {
  EXPECT_OK(ValidateLabelKey(std::string(253, 'p') + "/k"));
  EXPECT_STATUS(ValidateLabelKey(std::string(254, 'p') + "/k"), StatusCode::kInvalidArgument);
}

TEST(LabelKey, RefusesMalformedKeys) {
  EXPECT_STATUS(ValidateLabelKey(""), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("/app"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("example.com/"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("Example.com/app"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("a/b/c"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("-app"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("app_"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelKey("a b"), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLabelKey("a=b").code(), StatusCode::kInvalidArgument);
}

TEST(LabelValue, AcceptsEmptyAnd63CharactersButNot64) {
  EXPECT_OK(ValidateLabelValue(""));
  EXPECT_OK(ValidateLabelValue(std::string(63, 'v')));
  EXPECT_EQ(ValidateLabelValue(std::string(64, 'v')).code(), StatusCode::kInvalidArgument);
}

TEST(LabelValue, RefusesBadCharactersAndEnds) {
  EXPECT_OK(ValidateLabelValue("Prod_1.x-y"));
  EXPECT_STATUS(ValidateLabelValue("a/b"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelValue("_a"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelValue("a."), StatusCode::kInvalidArgument);
  EXPECT_STATUS(ValidateLabelValue("caf\xc3\xa9"), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::api

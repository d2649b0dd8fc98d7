#include "api/wire/k8s_names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace strongroom::api {
namespace {

TEST(ObjectName, AcceptsTypicalNames) {
  EXPECT_TRUE(ValidateObjectName("api-key").ok());
  EXPECT_TRUE(ValidateObjectName("a").ok());
  EXPECT_TRUE(ValidateObjectName("db.prod-1.example").ok());
  EXPECT_TRUE(ValidateObjectName("0abc9").ok());
}

TEST(ObjectName, Accepts253CharactersAndRefuses254) {
  EXPECT_TRUE(ValidateObjectName(std::string(253, 'a')).ok());
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
  EXPECT_FALSE(ValidateObjectName("Api-key").ok());
  EXPECT_FALSE(ValidateObjectName("api_key").ok());
  EXPECT_FALSE(ValidateObjectName("api/key").ok());
  EXPECT_FALSE(ValidateObjectName("api key").ok());
}

TEST(ObjectName, RefusesNonAlphanumericEnds) {
  EXPECT_FALSE(ValidateObjectName("-abc").ok());
  EXPECT_FALSE(ValidateObjectName("abc-").ok());
  EXPECT_FALSE(ValidateObjectName(".abc").ok());
  EXPECT_FALSE(ValidateObjectName("abc.").ok());
}

TEST(ObjectName, RefusesEmptyOrDashEdgedDotSeparatedParts) {
  for (const char* name : {"dot..dot", "label.-dash", "dash-.label", "a.-b.c"}) {
    EXPECT_FALSE(ValidateObjectName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateObjectName("provisioning.grafana.app").ok());
  EXPECT_TRUE(ValidateObjectName("a-b.c-d.e").ok());
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
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message().find('\x01'), std::string::npos);
  EXPECT_NE(status.message().find("a??b"), std::string::npos);
}

TEST(NamespaceName, Accepts63CharactersAndRefuses64) {
  EXPECT_TRUE(ValidateNamespaceName(std::string(63, 'n')).ok());
  EXPECT_EQ(ValidateNamespaceName(std::string(64, 'n')).code(), StatusCode::kInvalidArgument);
}

TEST(NamespaceName, RefusesEmptyDotsAndBadEnds) {
  EXPECT_TRUE(ValidateNamespaceName("default").ok());
  EXPECT_TRUE(ValidateNamespaceName("team-1").ok());
  EXPECT_FALSE(ValidateNamespaceName("").ok());
  EXPECT_FALSE(ValidateNamespaceName("a.b").ok());
  EXPECT_FALSE(ValidateNamespaceName("-a").ok());
  EXPECT_FALSE(ValidateNamespaceName("a-").ok());
  EXPECT_FALSE(ValidateNamespaceName("Default").ok());
}

TEST(GenerateObjectName, AppendsFiveCharactersFromTheKubernetesAlphabet) {
  StatusOr<std::string> name = GenerateObjectName("api-key-");
  ASSERT_TRUE(name.has_value()) << name.error();
  ASSERT_EQ(name->size(), 8u + 5u);
  EXPECT_TRUE(name->starts_with("api-key-"));
  for (char c : name->substr(8)) {
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(c), std::string_view::npos) << c;
  }
  EXPECT_TRUE(ValidateObjectName(*name).ok());
}

TEST(GenerateObjectName, DrawsDifferentNames) {
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i) names.insert(GenerateObjectName("x").value());
  EXPECT_GT(names.size(), 1u);
}

TEST(GenerateObjectName, TruncatesLongPrefixToAtMost253Characters) {
  StatusOr<std::string> name = GenerateObjectName(std::string(300, 'p'));
  ASSERT_TRUE(name.has_value()) << name.error();
  EXPECT_EQ(name->size(), 253u);
  EXPECT_TRUE(name->starts_with(std::string(248, 'p')));
}

TEST(GenerateObjectName, RefusesEmptyPrefix) {
  StatusOr<std::string> name = GenerateObjectName("");
  ASSERT_FALSE(name.has_value());
  EXPECT_EQ(name.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(name.error().message().find("metadata.generateName"), std::string::npos);
}

TEST(GenerateObjectName, RefusesPrefixThatCannotMakeAValidName) {
  StatusOr<std::string> name = GenerateObjectName("Bad_");
  ASSERT_FALSE(name.has_value());
  EXPECT_EQ(name.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(name.error().message().find("metadata.generateName"), std::string::npos);
  EXPECT_FALSE(GenerateObjectName("-abc").has_value());
}

TEST(LabelKey, AcceptsNamesWithAndWithoutPrefix) {
  EXPECT_TRUE(ValidateLabelKey("app").ok());
  EXPECT_TRUE(ValidateLabelKey("App_Name.v-1").ok());
  EXPECT_TRUE(ValidateLabelKey("example.com/tier").ok());
  EXPECT_TRUE(ValidateLabelKey("k8s.io/Team").ok());
}

TEST(LabelKey, Accepts63CharacterNameAndRefuses64) {
  EXPECT_TRUE(ValidateLabelKey(std::string(63, 'k')).ok());
  EXPECT_FALSE(ValidateLabelKey(std::string(64, 'k')).ok());
  EXPECT_TRUE(ValidateLabelKey("example.com/" + std::string(63, 'k')).ok());
  EXPECT_FALSE(ValidateLabelKey("example.com/" + std::string(64, 'k')).ok());
}

TEST(LabelKey, Accepts253CharacterPrefixAndRefuses254) {
  EXPECT_TRUE(ValidateLabelKey(std::string(253, 'p') + "/k").ok());
  EXPECT_FALSE(ValidateLabelKey(std::string(254, 'p') + "/k").ok());
}

TEST(LabelKey, RefusesMalformedKeys) {
  EXPECT_FALSE(ValidateLabelKey("").ok());
  EXPECT_FALSE(ValidateLabelKey("/app").ok());
  EXPECT_FALSE(ValidateLabelKey("example.com/").ok());
  EXPECT_FALSE(ValidateLabelKey("Example.com/app").ok());
  EXPECT_FALSE(ValidateLabelKey("a/b/c").ok());
  EXPECT_FALSE(ValidateLabelKey("-app").ok());
  EXPECT_FALSE(ValidateLabelKey("app_").ok());
  EXPECT_FALSE(ValidateLabelKey("a b").ok());
  EXPECT_EQ(ValidateLabelKey("a=b").code(), StatusCode::kInvalidArgument);
}

TEST(LabelValue, AcceptsEmptyAnd63CharactersButNot64) {
  EXPECT_TRUE(ValidateLabelValue("").ok());
  EXPECT_TRUE(ValidateLabelValue(std::string(63, 'v')).ok());
  EXPECT_EQ(ValidateLabelValue(std::string(64, 'v')).code(), StatusCode::kInvalidArgument);
}

TEST(LabelValue, RefusesBadCharactersAndEnds) {
  EXPECT_TRUE(ValidateLabelValue("Prod_1.x-y").ok());
  EXPECT_FALSE(ValidateLabelValue("a/b").ok());
  EXPECT_FALSE(ValidateLabelValue("_a").ok());
  EXPECT_FALSE(ValidateLabelValue("a.").ok());
  EXPECT_FALSE(ValidateLabelValue("caf\xc3\xa9").ok());
}

}  // namespace
}  // namespace strongroom::api

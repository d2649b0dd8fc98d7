#include "api/wire/label_selector.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strongroom::api {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;
using Operator = LabelSelector::Operator;

LabelSelector MustParse(std::string_view text) {
  StatusOr<LabelSelector> selector = LabelSelector::Parse(text);
  EXPECT_OK(selector);
  return selector.has_value() ? *std::move(selector) : LabelSelector();
}

Status ParseError(std::string_view text) {
  StatusOr<LabelSelector> selector = LabelSelector::Parse(text);
  if (selector.has_value()) return Status::Ok();
  return selector.error();
}

const Labels kProd = {{"app", "web"}, {"env", "prod"}, {"tier", "front"}};
const Labels kNoLabels = {};

TEST(LabelSelector, EmptyAndBlankSelectorsMatchEverything) {
  for (std::string_view text : {"", "   ", "\t"}) {
    LabelSelector selector = MustParse(text);
    EXPECT_TRUE(selector.empty());
    EXPECT_TRUE(selector.Matches(kProd));
    EXPECT_TRUE(selector.Matches(kNoLabels));
  }
}

TEST(LabelSelector, ParsesEveryOperator) {
  LabelSelector selector = MustParse("a=1,b==2,c!=3,d in (4,5),e notin (6),f,!g");
  const std::vector<LabelSelector::Requirement>& r = selector.requirements();
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].key, "a");
  EXPECT_EQ(r[0].op, Operator::kEquals);
  EXPECT_EQ(r[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(r[1].op, Operator::kEquals);
  EXPECT_EQ(r[1].values, std::vector<std::string>{"2"});
  EXPECT_EQ(r[2].op, Operator::kNotEquals);
  EXPECT_EQ(r[3].op, Operator::kIn);
  EXPECT_EQ(r[3].values, (std::vector<std::string>{"4", "5"}));
  EXPECT_EQ(r[4].op, Operator::kNotIn);
  EXPECT_EQ(r[4].values, std::vector<std::string>{"6"});
  EXPECT_EQ(r[5].key, "f");
  EXPECT_EQ(r[5].op, Operator::kExists);
  EXPECT_TRUE(r[5].values.empty());
  EXPECT_EQ(r[6].key, "g");
  EXPECT_EQ(r[6].op, Operator::kDoesNotExist);
}

TEST(LabelSelector, AllowsWhitespaceAroundTokens) {
  LabelSelector selector = MustParse("  a = 1 ,\tb != 2 , c in ( x , y ) , d notin(z) , ! e , f  ");
  const std::vector<LabelSelector::Requirement>& r = selector.requirements();
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(r[2].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r[3].op, Operator::kNotIn);
  EXPECT_EQ(r[4].key, "e");
  EXPECT_EQ(r[4].op, Operator::kDoesNotExist);
  EXPECT_EQ(r[5].op, Operator::kExists);
}

TEST(LabelSelector, AcceptsPrefixedKeysAndEmptyValue) {
  LabelSelector selector = MustParse("example.com/team=Core_1,app=");
  ASSERT_EQ(selector.requirements().size(), 2u);
  EXPECT_EQ(selector.requirements()[0].key, "example.com/team");
  EXPECT_EQ(selector.requirements()[1].values, std::vector<std::string>{""});
  EXPECT_TRUE(selector.Matches(Labels{{"app", ""}, {"example.com/team", "Core_1"}}));
  EXPECT_FALSE(selector.Matches(Labels{{"app", "x"}, {"example.com/team", "Core_1"}}));
}

TEST(LabelSelector, EqualsMatchesOnlyTheSameValue) {
  EXPECT_TRUE(MustParse("env=prod").Matches(kProd));
  EXPECT_TRUE(MustParse("env==prod").Matches(kProd));
  EXPECT_FALSE(MustParse("env=dev").Matches(kProd));
  EXPECT_FALSE(MustParse("env=prod").Matches(kNoLabels));
}

TEST(LabelSelector, NotEqualsMatchesObjectsWithoutTheKey) {
  LabelSelector selector = MustParse("env!=prod");
  EXPECT_FALSE(selector.Matches(kProd));
  EXPECT_TRUE(selector.Matches(Labels{{"env", "dev"}}));
  EXPECT_TRUE(selector.Matches(kNoLabels));
  EXPECT_TRUE(selector.Matches(Labels{{"app", "web"}}));
}

TEST(LabelSelector, InMatchesAnyListedValue) {
  LabelSelector selector = MustParse("env in (dev, prod)");
  EXPECT_TRUE(selector.Matches(kProd));
  EXPECT_TRUE(selector.Matches(Labels{{"env", "dev"}}));
  EXPECT_FALSE(selector.Matches(Labels{{"env", "test"}}));
  EXPECT_FALSE(selector.Matches(kNoLabels));
}

TEST(LabelSelector, NotInMatchesObjectsWithoutTheKey) {
  LabelSelector selector = MustParse("env notin (dev,test)");
  EXPECT_TRUE(selector.Matches(kProd));
  EXPECT_FALSE(selector.Matches(Labels{{"env", "dev"}}));
  EXPECT_TRUE(selector.Matches(kNoLabels));
  EXPECT_TRUE(selector.Matches(Labels{{"app", "web"}}));
}

TEST(LabelSelector, ExistsAndDoesNotExistLookOnlyAtTheKey) {
  EXPECT_TRUE(MustParse("tier").Matches(kProd));
  EXPECT_FALSE(MustParse("tier").Matches(kNoLabels));
  EXPECT_FALSE(MustParse("!tier").Matches(kProd));
  EXPECT_TRUE(MustParse("!tier").Matches(kNoLabels));
  EXPECT_TRUE(MustParse("!owner").Matches(kProd));
}

TEST(LabelSelector, AllRequirementsMustMatch) {
  EXPECT_TRUE(MustParse("app=web,env in (prod),!owner").Matches(kProd));
  EXPECT_FALSE(MustParse("app=web,env=dev").Matches(kProd));
  EXPECT_FALSE(MustParse("env=dev,app=web").Matches(kProd));
}

TEST(LabelSelector, MatchesKeysAnywhereInTheSortedList) {
  Labels labels = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}};
  EXPECT_TRUE(MustParse("a=1,c=3,e=5").Matches(labels));
  EXPECT_FALSE(MustParse("cc").Matches(labels));
  EXPECT_FALSE(MustParse("f").Matches(labels));
}

TEST(LabelSelector, RefusesEmptyInList) {
  Status status = ParseError("a in ()");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("offset 6"), std::string::npos) << status;
  EXPECT_FALSE(ParseError("a notin ( )").ok());
  EXPECT_FALSE(ParseError("a in (b,)").ok());
  EXPECT_FALSE(ParseError("a in (,b)").ok());
}

TEST(LabelSelector, RefusesUnclosedList) {
  Status status = ParseError("a in (b");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("offset 7"), std::string::npos) << status;
  EXPECT_FALSE(ParseError("a in (b c)").ok());
  EXPECT_FALSE(ParseError("a in b").ok());
  EXPECT_FALSE(ParseError("a in").ok());
  EXPECT_FALSE(ParseError("a in ((b))").ok());
}

TEST(LabelSelector, RefusesMissingKey) {
  Status status = ParseError("=b");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("key"), std::string::npos) << status;
  EXPECT_NE(status.message().find("offset 0"), std::string::npos) << status;
  EXPECT_FALSE(ParseError("!=b").ok());
  EXPECT_FALSE(ParseError(" in (a)x").ok());
}

TEST(LabelSelector, RefusesBangWithoutKey) {
  Status status = ParseError("!");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("offset 1"), std::string::npos) << status;
  EXPECT_FALSE(ParseError("a=b,!").ok());
  EXPECT_FALSE(ParseError("!a=b").ok());
}

TEST(LabelSelector, RefusesSecondEquals) {
  Status status = ParseError("a=b=c");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("offset 3"), std::string::npos) << status;
}

TEST(LabelSelector, RefusesEmptyRequirements) {
  EXPECT_FALSE(ParseError("a,").ok());
  EXPECT_FALSE(ParseError(",a").ok());
  EXPECT_FALSE(ParseError("a,,b").ok());
}

TEST(LabelSelector, RefusesUnknownOperators) {
  EXPECT_FALSE(ParseError("a b").ok());
  EXPECT_FALSE(ParseError("a inn (b)").ok());
  EXPECT_FALSE(ParseError("a < 3").ok());
  EXPECT_FALSE(ParseError("a=(b)").ok());
}

TEST(LabelSelector, RefusesKeysAndValuesBreakingLabelRules) {
  Status status = ParseError("app=ok,Bad_Prefix.com/x=1");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("offset 7"), std::string::npos) << status;
  EXPECT_FALSE(ParseError(std::string(64, 'k') + "=v").ok());
  EXPECT_OK(ParseError(std::string(63, 'k') + "=" + std::string(63, 'v')));
  EXPECT_FALSE(ParseError("k=" + std::string(64, 'v')).ok());
  EXPECT_FALSE(ParseError("k in (ok," + std::string(64, 'v') + ")").ok());
  EXPECT_FALSE(ParseError("k=-v").ok());
  EXPECT_FALSE(ParseError("k=a/b").ok());
  EXPECT_FALSE(ParseError("k\n=v").ok());
}

TEST(LabelSelector, RefusesOverlongText) {
  EXPECT_FALSE(ParseError("a" + std::string(5000, ' ')).ok());
}

}  // namespace
}  // namespace strongroom::api

// Sensu's response filtering (SPEC 6.3): the grammar of labelSelector and
// fieldSelector, every operator, `&&`, quoting, and the errors.
#include "api/wire/sensu_selector.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace strongroom::api {
namespace {

using Record = std::map<std::string, std::string>;

constexpr std::string_view kFields[] = {"secret.name", "secret.provider"};

bool Selects(std::string_view text, const Record& record,
             std::span<const std::string_view> fields = {}) {
  StatusOr<SensuSelector> selector = SensuSelector::Parse(text, fields);
  EXPECT_OK(selector);
  if (!selector.has_value()) return false;
  return selector->Matches([&](std::string_view key) -> std::optional<std::string_view> {
    auto it = record.find(std::string(key));
    if (it == record.end()) return std::nullopt;
    return it->second;
  });
}

std::string Error(std::string_view text, std::span<const std::string_view> fields = {}) {
  StatusOr<SensuSelector> selector = SensuSelector::Parse(text, fields);
  EXPECT_FALSE(selector.has_value()) << text << " parsed";
  return selector.has_value() ? "" : selector.error().message();
}

const Record kDb = {{"secret.name", "db-password"}, {"secret.provider", "env"}};

TEST(SensuSelector, EmptyAndBlankSelectEverything) {
  EXPECT_TRUE(Selects("", kDb));
  EXPECT_TRUE(Selects("   ", kDb));
  EXPECT_TRUE(Selects("", {}));
}

TEST(SensuSelector, EqualityAndInequality) {
  EXPECT_TRUE(Selects("secret.provider == env", kDb, kFields));
  EXPECT_FALSE(Selects("secret.provider == vault", kDb, kFields));
  EXPECT_TRUE(Selects("secret.provider != vault", kDb, kFields));
  EXPECT_FALSE(Selects("secret.provider != env", kDb, kFields));
  EXPECT_TRUE(Selects("secret.provider==env", kDb, kFields)) << "blanks are optional";
}

TEST(SensuSelector, InAndNotinTakeBracketedLists) {
  EXPECT_TRUE(Selects("secret.name in [api-key, db-password]", kDb, kFields));
  EXPECT_FALSE(Selects("secret.name in [api-key]", kDb, kFields));
  EXPECT_TRUE(Selects("secret.name notin [api-key, other]", kDb, kFields));
  EXPECT_FALSE(Selects("secret.name notin [db-password]", kDb, kFields));
  EXPECT_TRUE(Selects("secret.name in ['db-password']", kDb, kFields));
}

TEST(SensuSelector, MatchesIsASubstringTest) {
  EXPECT_TRUE(Selects("secret.name matches pass", kDb, kFields));
  EXPECT_TRUE(Selects("secret.name matches db-password", kDb, kFields));
  EXPECT_FALSE(Selects("secret.name matches token", kDb, kFields));
}

TEST(SensuSelector, ClausesJoinedByAndMustAllHold) {
  EXPECT_TRUE(Selects("secret.provider == env && secret.name matches db", kDb, kFields));
  EXPECT_FALSE(Selects("secret.provider == env && secret.name matches token", kDb, kFields));
  EXPECT_FALSE(Selects("secret.provider == vault && secret.name matches db", kDb, kFields));
}

TEST(SensuSelector, QuotedValuesMayHoldBlanksAndOperators) {
  const Record labels = {{"owner", "team a && b"}, {"region", "us-west-1"}};
  EXPECT_TRUE(Selects("owner == 'team a && b'", labels));
  EXPECT_TRUE(Selects("owner == \"team a && b\" && region == us-west-1", labels));
}

TEST(SensuSelector, AMissingLabelMatchesOnlyNegations) {
  const Record labels = {{"region", "us-west-1"}};
  EXPECT_FALSE(Selects("tier == web", labels));
  EXPECT_FALSE(Selects("tier in [web]", labels));
  EXPECT_FALSE(Selects("tier matches w", labels));
  EXPECT_TRUE(Selects("tier != web", labels));
  EXPECT_TRUE(Selects("tier notin [web]", labels));
}

TEST(SensuSelector, FieldSelectorsRefuseUnknownFields) {
  EXPECT_NE(Error("secret.id == x", kFields).find("unknown field"), std::string::npos);
  EXPECT_NE(Error("name == x", kFields).find("secret.name, secret.provider"), std::string::npos);
}

TEST(SensuSelector, MalformedSelectorsAreRefusedWithThePosition) {
  EXPECT_NE(Error("region").find("expected ==, !=, in, notin or matches"), std::string::npos);
  EXPECT_NE(Error("region ==").find("expected a value"), std::string::npos);
  EXPECT_NE(Error("region in us").find("expected ["), std::string::npos);
  EXPECT_NE(Error("region in [a, b").find("expected ]"), std::string::npos);
  EXPECT_NE(Error("region == 'open").find("unterminated quote"), std::string::npos);
  EXPECT_NE(Error("a == b c == d").find("expected && or the end"), std::string::npos);
  EXPECT_NE(Error("a == b &&").find("expected a key"), std::string::npos);
}

}  // namespace
}  // namespace strongroom::api

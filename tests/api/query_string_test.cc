#include "api/wire/query_string.h"

#include <gtest/gtest.h>

namespace strongroom::api {
namespace {

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(PercentDecode("a%3Db%2cc").value(), "a=b,c");
  EXPECT_EQ(PercentDecode("%E2%82%ac").value(), "\xE2\x82\xAC");
  EXPECT_EQ(PercentDecode("").value(), "");
  EXPECT_EQ(PercentDecode("plain-text_1.2~").value(), "plain-text_1.2~");
}

TEST(PercentDecode, TurnsPlusIntoSpaceOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("app+in+(a,b)").value(), "app in (a,b)");
  EXPECT_EQ(PercentDecode("a+b", /*plus_is_space=*/false).value(), "a+b");
  EXPECT_EQ(PercentDecode("a%2Bb").value(), "a+b");
}

TEST(PercentDecode, KeepsDecodedNulAndHighBytes) {
  StatusOr<std::string> decoded = PercentDecode("a%00b%FF");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, std::string("a\0b\xff", 4));
}

TEST(PercentDecode, RefusesTruncatedEscapes) {
  EXPECT_EQ(PercentDecode("%").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentDecode("abc%4").error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(PercentDecode("%%41").has_value());
}

TEST(PercentDecode, RefusesNonHexEscapes) {
  EXPECT_EQ(PercentDecode("%G1").error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(PercentDecode("%1g").has_value());
  EXPECT_FALSE(PercentDecode("% 1").has_value());
  EXPECT_FALSE(PercentDecode("%-1").has_value());
}

}  // namespace
}  // namespace strongroom::api

#include "api/wire/query_string.h"

#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

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
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, std::string("a\0b\xff", 4));
}

TEST(PercentDecode, RefusesTruncatedEscapes) {
  EXPECT_STATUS(PercentDecode("%"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(PercentDecode("abc%4"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(PercentDecode("%%41"), StatusCode::kInvalidArgument);
}

TEST(PercentDecode, RefusesNonHexEscapes) {
  EXPECT_STATUS(PercentDecode("%G1"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(PercentDecode("%1g"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(PercentDecode("% 1"), StatusCode::kInvalidArgument);
  EXPECT_STATUS(PercentDecode("%-1"), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::api

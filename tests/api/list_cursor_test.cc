#include "api/wire/list_cursor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

constexpr std::string_view kKind = "securevalues";

ListCursorCodec MakeCodec() {
  StatusOr<ListCursorCodec> codec = ListCursorCodec::Create();
  EXPECT_OK(codec);
  return std::move(*codec);
}

void ExpectRefused(const StatusOr<std::string>& decoded) {
  ASSERT_FALSE(decoded.has_value()) << *decoded;
  EXPECT_STATUS(decoded, StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.error().message(), "invalid continue token");
}

TEST(ListCursor, RoundTripsTheLastKey) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode(kKind, "default", "api-key");
  StatusOr<std::string> last = codec.Decode(token, kKind, "default");
  ASSERT_OK(last);
  EXPECT_EQ(*last, "api-key");
}

TEST(ListCursor, TokenIsUnpaddedBase64Url) {
  ListCursorCodec codec = MakeCodec();
  for (const std::string& key :
       std::vector<std::string>{"", "a", "ab", "abc", std::string(253, 'z')}) {
    std::string token = codec.Encode(kKind, "default", key);
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
              std::string::npos)
        << token;
    EXPECT_LE(token.size(), 1024u);
    EXPECT_EQ(codec.Decode(token, kKind, "default").value(), key);
  }
}

TEST(ListCursor, RefusesEveryOneCharacterChange) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode(kKind, "default", "db-password");
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    ExpectRefused(codec.Decode(tampered, kKind, "default"));
  }
}

TEST(ListCursor, RefusesTruncatedAndExtendedTokens) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode(kKind, "default", "db-password");
  ExpectRefused(codec.Decode(token.substr(0, token.size() - 1), kKind, "default"));
  ExpectRefused(codec.Decode(token + "A", kKind, "default"));
  ExpectRefused(codec.Decode(token + "=", kKind, "default"));
  ExpectRefused(codec.Decode(token + " ", kKind, "default"));
}

TEST(ListCursor, RefusesTokenForAnotherNamespace) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode(kKind, "team-a", "k");
  ExpectRefused(codec.Decode(token, kKind, "team-b"));
  EXPECT_OK(codec.Decode(token, kKind, "team-a"));
}

TEST(ListCursor, RefusesTokenForAnotherKind) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode("secrets", "default", "k");
  ExpectRefused(codec.Decode(token, kKind, "default"));
}

TEST(ListCursor, RefusesTokenFromAnotherCodec) {
  ListCursorCodec first = MakeCodec();
  ListCursorCodec second = MakeCodec();
  std::string token = first.Encode(kKind, "default", "k");
  ExpectRefused(second.Decode(token, kKind, "default"));
}

TEST(ListCursor, RefusesMalformedTokens) {
  ListCursorCodec codec = MakeCodec();
  ExpectRefused(codec.Decode("", kKind, "default"));
  ExpectRefused(codec.Decode("A", kKind, "default"));
  ExpectRefused(codec.Decode("AAAA", kKind, "default"));
  ExpectRefused(codec.Decode("not a token!", kKind, "default"));
  ExpectRefused(codec.Decode(std::string(100, 'A'), kKind, "default"));
  ExpectRefused(codec.Decode("abc+/def", kKind, "default"));
}

TEST(ListCursor, RefusesTokensOver1024Characters) {
  ListCursorCodec codec = MakeCodec();
  ExpectRefused(codec.Decode(std::string(1025, 'A'), kKind, "default"));
  ExpectRefused(codec.Decode(std::string(1 << 20, 'A'), kKind, "default"));
}

TEST(ListCursor, DecodesAfterTheCodecIsMoved) {
  ListCursorCodec codec = MakeCodec();
  std::string token = codec.Encode(kKind, "default", "k");
  ListCursorCodec moved = std::move(codec);
  EXPECT_EQ(moved.Decode(token, kKind, "default").value(), "k");
}

}  // namespace
}  // namespace strongroom::api

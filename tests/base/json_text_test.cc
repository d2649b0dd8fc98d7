// AppendJsonString (base/json_text.h): what the decrypt responses are built
// with. Every escape, every control character, multi-byte UTF-8 and the
// byte-exact round trip through a real JSON parser.
#include "base/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strongroom {
namespace {

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharactersOnly) {
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("plain text / slash"), "\"plain text / slash\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Quoted(std::string("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"") << "DEL needs no escape";
  EXPECT_EQ(Quoted("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"),
            "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\"");
}

TEST(AppendJsonString, AppendsAndEveryByteRoundTripsThroughAJsonParser) {
  std::string every;
  for (int c = 0; c < 0x80; ++c) every += static_cast<char>(c);
  every += "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
  std::string out = "{\"v\":";
  AppendJsonString(out, every);
  out += "}";
  nlohmann::json parsed = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << out;
  EXPECT_EQ(parsed["v"].get<std::string>(), every);
}

TEST(AppendJsonString, ReplacesEachByteThatStartsNoValidSequence) {
  EXPECT_EQ(Quoted("a\x80"
                   "b"),
            "\"a\xEF\xBF\xBD"
            "b\"")
      << "lone continuation byte";
  EXPECT_EQ(Quoted("\xF0\x9F\x94"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"")
      << "a truncated sequence: each of its bytes";
  EXPECT_EQ(Quoted("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") << "surrogate";
  EXPECT_EQ(Quoted("\xC0\xAF\"\xFF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\\\"\xEF\xBF\xBD\"")
      << "overlong '/', a quote, 0xFF";
  std::string out = "[";
  AppendJsonString(out, "x\xC3(\xE2\x82\xAC\x80\n");
  out += "]";
  nlohmann::json parsed = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << "the output is valid JSON";
  EXPECT_EQ(parsed[0].get<std::string>(), "x\xEF\xBF\xBD(\xE2\x82\xAC\xEF\xBF\xBD\n");
}

// The plain bytes are skipped eight at a time (issue 19): a byte that
// needs escaping or checking is still found at every offset of a word, and
// text around it is copied unchanged.
TEST(AppendJsonString, FindsAByteToEscapeAtEveryOffsetOfALongPlainText) {
  const std::string specials[] = {"\"", "\\", std::string(1, '\0'), "\x1f", "\n", "\x80",
                                  "\xc3\xa9"};
  const std::string expected[] = {"\\\"", "\\\\", "\\u0000", "\\u001f", "\\n",
                                  "\xEF\xBF\xBD", "\xc3\xa9"};
  for (std::size_t s = 0; s < std::size(specials); ++s) {
    for (std::size_t at = 0; at <= 40; ++at) {
      const std::string before(at, 'a'), after(40 - at, 'z');
      EXPECT_EQ(Quoted(before + specials[s] + after), "\"" + before + expected[s] + after + "\"")
          << "special " << s << " at " << at;
    }
  }
  EXPECT_EQ(Quoted(std::string(64, '~') + "\x7f"), "\"" + std::string(64, '~') + "\x7f\"");
  // Plain text is appended in one write after whatever `out` holds.
  for (std::size_t held = 0; held <= 40; ++held) {
    std::string out(held, 'h');
    AppendJsonString(out, "plain");
    AppendJsonString(out, "");
    EXPECT_EQ(out, std::string(held, 'h') + "\"plain\"\"\"") << held;
  }
}

}  // namespace
}  // namespace strongroom

#include "base/node_name.h"

#include <gtest/gtest.h>

#include <string>

namespace strongroom {
namespace {

TEST(IsNodeName, AcceptsTheDocumentedExamplesAndTheNamesTheProjectMakes) {
  for (const char* name : {"node-1", "node-2", "a-2", "a", "prod", "default", "dev", "e2e", "test",
                           "0", "node-4294967295123456789"}) {
    EXPECT_TRUE(IsNodeName(name)) << name;
  }
}

TEST(IsNodeName, RefusesTheEmptyName) { EXPECT_FALSE(IsNodeName("")); }

TEST(IsNodeName, AcceptsSixtyThreeCharactersAndRefusesSixtyFour) {
  EXPECT_TRUE(IsNodeName(std::string(kMaxNodeNameLength, 'a')));
  EXPECT_TRUE(IsNodeName("a" + std::string(61, '-') + "9"));
  EXPECT_FALSE(IsNodeName(std::string(kMaxNodeNameLength + 1, 'a')));
}

TEST(IsNodeName, RefusesAHyphenAtEitherEndButNotInside) {
  EXPECT_FALSE(IsNodeName("-"));
  EXPECT_FALSE(IsNodeName("-a"));
  EXPECT_FALSE(IsNodeName("a-"));
  EXPECT_FALSE(IsNodeName("--"));
  EXPECT_TRUE(IsNodeName("a--b"));
  EXPECT_TRUE(IsNodeName("9-0"));
}

TEST(IsNodeName, RefusesEveryCharacterOutsideLowerCaseLettersDigitsAndHyphen) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool allowed = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    const std::string inside = std::string("a") + ch + "b";
    EXPECT_EQ(IsNodeName(inside), allowed) << "character " << c;
  }
  // The characters a wider rule would let into etcd keys and anchor labels.
  for (const char* name : {"Node1", "a.b", "a_b", "a/b", "a:b", "a b", "node-1\n", "\xC3\xA9"}) {
    EXPECT_FALSE(IsNodeName(name)) << name;
  }
  EXPECT_FALSE(IsNodeName(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace strongroom

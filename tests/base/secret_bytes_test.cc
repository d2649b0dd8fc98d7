#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/secure_arena.h"

namespace strongroom {
namespace {

TEST(SecretBytes, PrintsRedactedEverywhere) {
  SecretBytes s = *SecretBytes::CopyFrom(std::string_view("hunter2-very-secret"));
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<redacted 19 bytes>");
  EXPECT_EQ(::testing::PrintToString(s), "<redacted 19 bytes>");
  EXPECT_EQ(os.str().find("hunter2"), std::string::npos);
}

TEST(SecretBytes, ComparesInConstantTimeAndClonesExplicitly) {
  SecretBytes a = *SecretBytes::CopyFrom(std::string_view("abc"));
  SecretBytes b = *a.Clone();
  EXPECT_TRUE(a.ConstantTimeEquals(b));
  b.RevealMutableSecret()[2] = 'd';
  EXPECT_FALSE(a.ConstantTimeEquals(b));
  SecretBytes c = *SecretBytes::CopyFrom(std::string_view("abcd"));
  EXPECT_FALSE(a.ConstantTimeEquals(c));
}

TEST(SecretBytes, MoveLeavesTheSourceEmpty) {
  SecretBytes a = *SecretBytes::CopyFrom(std::string_view("0123456789"));
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.RevealSecretAsString(), "0123456789");
}

TEST(SecretBytes, TruncateWipesTheTail) {
  SecretBytes a = *SecretBytes::CopyFrom(std::string_view("0123456789"));
  const std::uint8_t* raw = a.RevealSecret().data();
  a.Truncate(4);
  EXPECT_EQ(a.RevealSecretAsString(), "0123");
  for (int i = 4; i < 10; ++i) EXPECT_EQ(raw[i], 0) << i;
}

TEST(SecretBytes, LivesInTheProcessArenaAndIsWipedOnRelease) {
  SecureArena* arena = SecureArena::Process();
  ASSERT_NE(arena, nullptr);
  std::size_t before = arena->bytes_in_use();
  const std::uint8_t* raw = nullptr;
  {
    SecretBytes a = *SecretBytes::CopyFrom(std::string_view("top-secret-bytes"));
    raw = a.RevealSecret().data();
    EXPECT_GT(arena->bytes_in_use(), before);
  }
  EXPECT_EQ(arena->bytes_in_use(), before);
  // The block is still mapped (arena memory); it must hold zeros now.
  for (int i = 0; i < 16; ++i) EXPECT_EQ(raw[i], 0) << i;
}

}  // namespace
}  // namespace strongroom

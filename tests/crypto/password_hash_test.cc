// Password hashing (crypto/password_hash.h): the decoy hash checked for
// unknown users (issue 19) has a real hash's parameters and sizes, so a
// check against it runs the same scrypt, and no password matches it.
#include "crypto/password_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace strongroom::crypto {
namespace {

// Fields splits an encoded hash at '$'.
std::vector<std::string> Fields(const std::string& encoded) {
  std::vector<std::string> fields(1);
  for (char c : encoded) {
    if (c == '$') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  return fields;
}

SecretBytes Password(std::string_view text) { return *SecretBytes::CopyFrom(text); }

TEST(DecoyPasswordHash, HasARealHashsParametersAndSizes) {
  StatusOr<std::string> real = HashPassword(Password("correct horse battery"));
  StatusOr<std::string> decoy = DecoyPasswordHash();
  ASSERT_OK(real);
  ASSERT_OK(decoy);
  std::vector<std::string> real_fields = Fields(*real), decoy_fields = Fields(*decoy);
  ASSERT_EQ(real_fields.size(), 6u);
  ASSERT_EQ(decoy_fields.size(), 6u);
  // The scheme, log2 N, r and p: the check costs what a real one costs.
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(decoy_fields[i], real_fields[i]) << "field " << i;
  EXPECT_EQ(decoy_fields[4].size(), real_fields[4].size());  // salt
  EXPECT_EQ(decoy_fields[5].size(), real_fields[5].size());  // output
}

TEST(DecoyPasswordHash, EachIsFreshlyRandom) {
  StatusOr<std::string> first = DecoyPasswordHash();
  StatusOr<std::string> second = DecoyPasswordHash();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_NE(Fields(*first)[4], Fields(*second)[4]);
  EXPECT_NE(Fields(*first)[5], Fields(*second)[5]);
}

TEST(DecoyPasswordHash, VerifiesAsAWrongPasswordNotAsAMalformedHash) {
  StatusOr<std::string> decoy = DecoyPasswordHash();
  ASSERT_OK(decoy);
  // A value, not an error: VerifyPassword parsed the decoy and ran scrypt,
  // as for a real hash (a malformed one would be refused before any work).
  for (std::string_view attempt : {"", "correct horse battery", "hunter2"}) {
    StatusOr<bool> verified = VerifyPassword(Password(attempt), *decoy);
    ASSERT_OK(verified);
    EXPECT_FALSE(*verified);
  }
}

TEST(HashPassword, VerifiesItsOwnPasswordOnly) {
  StatusOr<std::string> hash = HashPassword(Password("correct horse battery"));
  ASSERT_OK(hash);
  StatusOr<bool> right = VerifyPassword(Password("correct horse battery"), *hash);
  StatusOr<bool> wrong = VerifyPassword(Password("correct horse batterz"), *hash);
  ASSERT_OK(right);
  ASSERT_OK(wrong);
  EXPECT_TRUE(*right);
  EXPECT_FALSE(*wrong);
}

}  // namespace
}  // namespace strongroom::crypto

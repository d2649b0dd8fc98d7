// tests/crypto/token_fixture.h — a real SoftHSMv2 test token opened as a
// crypto::Token, for the suites that work on the token directly (KEKs,
// key templates).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "crypto/token.h"
#include "tests/crypto/token_options.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {

class TokenFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = Token::Open(TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
  }
  void TearDown() override { token_.reset(); }

  testing_support::TestToken test_token_;
  std::unique_ptr<Token> token_;
};

}  // namespace strongroom::crypto

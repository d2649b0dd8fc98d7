// tests/crypto/token_options.h — TokenOptions naming a TestToken.
#pragma once

#include "crypto/token.h"
#include "tests/support/test_token.h"

namespace strongroom::crypto {

inline TokenOptions TokenOptionsFor(const testing_support::TestToken& t) {
  TokenOptions o;
  o.module = t.module_path();
  o.token_uri = t.token_uri();
  o.pin_file = t.pin_file();
  return o;
}

}  // namespace strongroom::crypto

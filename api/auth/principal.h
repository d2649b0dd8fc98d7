// api/auth/principal.h — who a request is, once authenticated (SPEC section 4:
// users, API tokens, services; never confused).
// Thread-safety: values.
#pragma once

#include <string>
#include <vector>

#include "policies/policies.h"

namespace strongroom::api {

struct Principal {
  enum class Kind { kAnonymous, kUser, kToken, kService };
  Kind kind = Kind::kAnonymous;
  // kUser: the login; kToken: the owner's login; kService: the service name.
  std::string name;
  bool server_admin = false;                          // kUser only (a token never inherits it)
  std::string token_id, token_role, token_namespace;  // kToken
  std::string certificate_fingerprint;                // the verified client certificate, if any
  std::string address;

  // KindName: "user", "token", "service" or "anonymous".
  std::string_view KindName() const;
};

}  // namespace strongroom::api

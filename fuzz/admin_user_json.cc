// Fuzz target: the admin user bodies (api/admin/admin_user_routes.cc). The
// routes read them inline with api/wire's ParseJsonObject and
// OptionalString and accounts' ValidateLogin; this target runs the same
// calls with each route's member list: create user, set password, set
// permissions, revoke token.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "api/wire/json_fields.h"
#include "base/secret_bytes.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace strongroom;

void ReadCreateUser(std::string_view body) {
  StatusOr<nlohmann::json> object =
      api::ParseJsonObject(body, {"name", "email", "login", "password", "OrgId", "orgId"});
  if (!object.has_value()) return;
  auto password = object->find("password");
  if (password != object->end() && password->is_string()) {
    (void)SecretBytes::CopyFrom(password->get_ref<const std::string&>());
  }
  std::string login;
  for (const char* name : {"login", "name", "email"}) {
    StatusOr<std::string> value = api::OptionalString(*object, name, "body");
    if (!value.has_value()) return;
    if (login.empty()) login = *value;
  }
  (void)accounts::ValidateLogin(login);
}

void ReadMember(std::string_view body, std::string_view member) {
  StatusOr<nlohmann::json> object = api::ParseJsonObject(body, {member});
  if (!object.has_value()) return;
  auto it = object->find(std::string(member));
  if (it == object->end()) return;
  if (it->is_boolean()) (void)it->get<bool>();
  if (it->is_string()) (void)it->get<std::string>();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::InstallArena();
  std::string_view body = fuzz::AsText(data, size);
  ReadCreateUser(body);
  ReadMember(body, "password");
  ReadMember(body, "isGrafanaAdmin");
  ReadMember(body, "authTokenId");
  return 0;
}

// appliance/commands.h — one function per command; each returns a Status
// whose message cli.cc prints on stderr. Private to appliance/.
#pragma once

#include <string>

#include "appliance/environment.h"
#include "base/status.h"

namespace strongroom::appliance {

Status RunInit(const CommonFlags& flags, const std::string& admin_password_file);
Status RunKeysList(const CommonFlags& flags);
Status RunBackup(const CommonFlags& flags, const std::string& to_dir);
Status RunRestore(const CommonFlags& flags, const std::string& from_dir);

// `serve`: flags override the config file's values when non-empty.
struct ServeFlags {
  std::string config_path = "/etc/strongroom/strongroom.toml";
  std::string listen, port_file, policy_dir, data_dir, module, token_uri, pin_file;
  bool allow_unlocked_memory = false;
};
Status RunServe(const ServeFlags& flags);

// `user ...` and `token ...`: they write through the store while the
// server runs; the server sees the change on its next request.
struct AccountFlags {
  std::string policy_dir = "/etc/strongroom/policies";  // to check roles
  std::string login, name, email, password_file, role, namespace_name = "*";
  bool server_admin = false;
  std::string ttl, description, token_id;
};
Status RunUserAdd(const CommonFlags& flags, const AccountFlags& account);
Status RunUserPasswd(const CommonFlags& flags, const AccountFlags& account);
Status RunUserDel(const CommonFlags& flags, const AccountFlags& account);
Status RunUserBind(const CommonFlags& flags, const AccountFlags& account);
Status RunUserList(const CommonFlags& flags);
Status RunTokenCreate(const CommonFlags& flags, const AccountFlags& account);
Status RunTokenList(const CommonFlags& flags, const AccountFlags& account);
Status RunTokenRevoke(const CommonFlags& flags, const AccountFlags& account);

}  // namespace strongroom::appliance

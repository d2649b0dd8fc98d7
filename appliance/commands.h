// appliance/commands.h — one function per command; each returns a Status
// whose message cli.cc prints on stderr. Private to appliance/.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "appliance/environment.h"
#include "base/status.h"

namespace strongroom::appliance {

Status RunInit(const CommonFlags& flags, const std::string& admin_password_file);
Status RunKeysList(const CommonFlags& flags);
Status RunBackup(const CommonFlags& flags, const std::string& to_dir);
Status RunRestore(const CommonFlags& flags, const std::string& from_dir);
// `anchor show` prints the token's trust anchor; `anchor adopt` makes the
// store and log as they are the anchored state (anchor_command.cc).
Status RunAnchorShow(const CommonFlags& flags);
Status RunAnchorAdopt(const CommonFlags& flags);

// `escrow setup` and `escrow recover` (escrow_command.cc, docs/escrow.md).
struct EscrowFlags {
  int officers = 0, threshold = 0;  // N and M
  std::string shares_dir;           // setup: where the N share files go
  std::vector<std::string> share_files;  // recover: M share files
  // The SO PIN: read once from this owner-only file, else from a prompt
  // (setup always; recover only with prompt_so_pin). Never stored.
  std::string so_pin_file;
  bool prompt_so_pin = false;
};
Status RunEscrowSetup(const CommonFlags& flags, const EscrowFlags& escrow);
Status RunEscrowRecover(const CommonFlags& flags, const EscrowFlags& escrow);
// `escrow status`: the escrow key, N and M, and which KEKs are escrowed.
Status RunEscrowStatus(const CommonFlags& flags);

struct ServerConfig;  // server_config.h

// `serve`: flags override the config file's values when non-empty.
struct ServeFlags {
  std::string config_path = "/etc/strongroom/strongroom.toml";
  std::string listen, port_file, policy_dir, data_dir, module, token_uri, pin_file, token_service;
  bool allow_unlocked_memory = false;
};
Status RunServe(const ServeFlags& flags);
// ResolveServeConfig loads the config file and applies the flags over it.
StatusOr<ServerConfig> ResolveServeConfig(const ServeFlags& flags);

// `join` (cluster mode, issue 18): prepares an empty data directory to join
// the cluster its config's [cluster] names: takes the cluster's wrapped
// record-MAC key from etcd (proving this node's token unwraps it) and
// starts this node's audit log; `serve` then reads the whole store from
// etcd. The same flags as serve (join_command.cc).
Status RunJoin(const ServeFlags& flags);

// `tokend`: the token behind a privilege boundary (tokend_command.cc).
struct TokendFlags {
  std::string socket_path;
  std::string allowed_user;  // a name or a uid
  std::string socket_mode = "0660";
};
Status RunTokend(const CommonFlags& common, const TokendFlags& flags);

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

// `audit verify` and `audit show` read only the log directory (and the
// pinned public key): no token, no store, no server.
struct AuditVerifyFlags {
  // One log directory per node (issue 18), each verified on its own.
  std::vector<std::string> log_dirs = {"/var/lib/strongroom/audit"};
  std::string public_key_file, expect_head;
  // The audit keys of later tokens (after `escrow recover`), pinned too.
  std::vector<std::string> later_public_key_files;
  bool require_sealed = false;
};
Status RunAuditVerify(const AuditVerifyFlags& flags);

struct AuditShowFlags {
  std::string log_dir = "/var/lib/strongroom/audit";
  // Filters by the API's query parameter names: since, until, actor,
  // action, namespace, outcome (empty values are ignored).
  std::map<std::string, std::string> filters;
  std::size_t limit = 100;
  bool json = false;
};
Status RunAuditShow(const AuditShowFlags& flags);

}  // namespace strongroom::appliance

// The `strongroom` command tree.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <utility>

#include "appliance/appliance.h"
#include "appliance/commands.h"
#include "appliance/server_config.h"
#include "base/node_name.h"

namespace strongroom::appliance {
namespace {

void AddCommonFlags(CLI::App* cmd, CommonFlags* flags) {
  cmd->add_option("--data-dir", flags->data_dir, "Data directory (LMDB store, audit log)")
      ->capture_default_str();
  cmd->add_option("--module", flags->module,
                  "PKCS#11 module: a path, or a module name from p11-kit's configuration")
      ->capture_default_str();
  cmd->add_option("--token-uri", flags->token_uri,
                  "Token as an RFC 7512 PKCS#11 URI (pin-value is refused)")
      ->capture_default_str();
  cmd->add_option(
      "--pin-file", flags->pin_file,
      "File holding the token user PIN: owned by you, mode 0600 (or pin-source in the URI)");
  cmd->add_option("--token-service", flags->token_service,
                  "Reach the token through `strongroom tokend` at unix:/path (instead of "
                  "--module, --token-uri and --pin-file)");
  cmd->add_option("--arena-mib", flags->arena_mib, "Locked secure memory, MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--allow-unlocked-memory", flags->allow_unlocked_memory,
                "Start even if secure memory cannot be locked (secrets may be swapped)");
}

int Report(const Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "strongroom: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int RunStrongroom(int argc, char** argv) {
  CLI::App app{"strongroom — a hardened secrets appliance (keys in a PKCS#11 token)"};
  app.require_subcommand(1);
  CommonFlags flags;

  std::string admin_password_file;
  CLI::App* init = app.add_subcommand(
      "init",
      "Create the token keys (KEK, audit key pair), the store and the admin user; idempotent");
  AddCommonFlags(init, &flags);
  init->add_option(
      "--admin-password-file", admin_password_file,
      "Owner-only file with the admin password (else one is generated and printed once)");

  std::string init_node_name;
  init->add_option("--node-name", init_node_name,
                   "Cluster mode: the first node's [cluster] node_name, so its audit log and token "
                   "anchor carry it from the start (a node of a shared token never uses the "
                   "unnamed single-node anchor)");

  EscrowFlags escrow;
  init->add_option("--escrow-officers", escrow.officers,
                   "Also set up M-of-N KEK escrow with this many officers (see `escrow setup`)");
  init->add_option("--escrow-threshold", escrow.threshold, "Shares needed to recover (M)");
  init->add_option("--escrow-shares-dir", escrow.shares_dir, "Where escrow writes the share files");
  init->add_option("--so-pin-file", escrow.so_pin_file,
                   "Owner-only file with the token's SO PIN, read once (else a prompt)");

  CLI::App* escrow_cmd = app.add_subcommand(
      "escrow", "M-of-N escrow of the KEKs, and recovery after the token is lost (docs/escrow.md)");
  escrow_cmd->require_subcommand(1);
  CLI::App* escrow_setup = escrow_cmd->add_subcommand(
      "setup", "Make an escrow key, have the SO trust it, split it into share files, and rotate "
               "to an escrowable KEK");
  AddCommonFlags(escrow_setup, &flags);
  escrow_setup->add_option("--officers", escrow.officers, "Number of share files (N)")->required();
  escrow_setup->add_option("--threshold", escrow.threshold, "Shares needed to recover (M)")->required();
  escrow_setup->add_option("--shares-dir", escrow.shares_dir, "Directory for the share files")
      ->required();
  escrow_setup->add_option("--so-pin-file", escrow.so_pin_file,
                           "Owner-only file with the token's SO PIN, read once (else a prompt)");
  CLI::App* escrow_recover = escrow_cmd->add_subcommand(
      "recover", "Rebuild the KEKs from M share files into a new, empty token");
  AddCommonFlags(escrow_recover, &flags);
  escrow_recover->add_option("--share", escrow.share_files, "A share file (give M of them)")
      ->required();
  escrow_recover->add_option("--so-pin-file", escrow.so_pin_file,
                             "SO PIN of the new token: it then trusts the escrow key again, so "
                             "later KEKs are escrowed too");
  escrow_recover->add_flag("--so-pin-prompt", escrow.prompt_so_pin,
                           "Ask for the new token's SO PIN instead of --so-pin-file");

  CLI::App* escrow_status = escrow_cmd->add_subcommand(
      "status", "Show the escrow key, N and M, and which KEKs are escrowed (never key material)");
  AddCommonFlags(escrow_status, &flags);

  CLI::App* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  CLI::App* keys_list =
      keys->add_subcommand("list", "List KEKs and data keys (never key material)");
  AddCommonFlags(keys_list, &flags);

  std::string backup_to;
  CLI::App* backup = app.add_subcommand("backup", "Write a consistent online backup");
  AddCommonFlags(backup, &flags);
  backup->add_option("--to", backup_to, "Backup directory (created; must not hold a backup)")
      ->required();

  std::string restore_from;
  CLI::App* restore = app.add_subcommand(
      "restore", "Restore a backup (server stopped; needs every KEK of the backup in the token)");
  AddCommonFlags(restore, &flags);
  restore->add_option("--from", restore_from, "Backup directory")->required();

  CLI::App* anchor = app.add_subcommand(
      "anchor", "The trust anchor the token holds for the audit log and the store");
  anchor->require_subcommand(1);
  CLI::App* anchor_show = anchor->add_subcommand("show", "Print the token's trust anchor");
  AddCommonFlags(anchor_show, &flags);
  CLI::App* anchor_adopt = anchor->add_subcommand(
      "adopt",
      "Anchor the store and audit log as they are (server stopped; both must verify; audited). "
      "For stores from before anchors, or after a loss you have looked into");
  AddCommonFlags(anchor_adopt, &flags);

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the server (foreground; SIGTERM/SIGINT stop it, SIGHUP reloads policies)");
  serve->add_option("--config", serve_flags.config_path, "Configuration file (TOML)")
      ->capture_default_str();
  serve->add_option("--listen", serve_flags.listen,
                    "Override: listen address host:port (port 0: any)");
  serve->add_option("--port-file", serve_flags.port_file,
                    "Override: write the bound port here once serving");
  serve->add_option("--policy-dir", serve_flags.policy_dir, "Override: policy directory");
  serve->add_option("--data-dir", serve_flags.data_dir, "Override: data directory");
  serve->add_option("--module", serve_flags.module, "Override: PKCS#11 module");
  serve->add_option("--token-uri", serve_flags.token_uri, "Override: token URI");
  serve->add_option("--pin-file", serve_flags.pin_file, "Override: PIN file");
  serve->add_option("--token-service", serve_flags.token_service,
                    "Override: the token through tokend (unix:/path)");
  serve->add_flag("--allow-unlocked-memory", serve_flags.allow_unlocked_memory,
                  "Start even if secure memory cannot be locked");

  ServeFlags join_flags;
  CLI::App* join = app.add_subcommand(
      "join", "Cluster mode: prepare an empty data directory to join the cluster named by the "
              "config's [cluster] (the cluster's record-MAC key from etcd, this node's audit "
              "log); then run serve");
  join->add_option("--config", join_flags.config_path, "Configuration file (TOML)")
      ->capture_default_str();
  join->add_option("--data-dir", join_flags.data_dir, "Override: data directory");
  join->add_option("--module", join_flags.module, "Override: PKCS#11 module");
  join->add_option("--token-uri", join_flags.token_uri, "Override: token URI");
  join->add_option("--pin-file", join_flags.pin_file, "Override: PIN file");
  join->add_option("--token-service", join_flags.token_service,
                   "Override: the token through tokend (unix:/path)");
  join->add_flag("--allow-unlocked-memory", join_flags.allow_unlocked_memory,
                 "Start even if secure memory cannot be locked");

  TokendFlags tokend_flags;
  CLI::App* tokend = app.add_subcommand(
      "tokend",
      "Serve the token to one user over a unix socket (the privilege boundary: run as the user "
      "owning the token and the PIN file; foreground; SIGTERM/SIGINT stop it)");
  AddCommonFlags(tokend, &flags);
  tokend->add_option("--socket", tokend_flags.socket_path, "The unix socket to listen on")
      ->required();
  tokend->add_option("--allowed-user", tokend_flags.allowed_user,
                     "The only user (name or uid) served: the appliance's")
      ->required();
  tokend->add_option("--socket-mode", tokend_flags.socket_mode, "The socket's mode (octal)")
      ->capture_default_str();

  AccountFlags account;
  auto add_policy_dir = [&account](CLI::App* cmd) {
    cmd->add_option("--policy-dir", account.policy_dir,
                    "Policy directory (custom roles); built-in roles only if it does not exist")
        ->capture_default_str();
  };
  CLI::App* user = app.add_subcommand("user", "Manage users (works while the server runs)");
  user->require_subcommand(1);
  CLI::App* user_add =
      user->add_subcommand("add", "Create a user (password from --password-file or stdin)");
  AddCommonFlags(user_add, &flags);
  add_policy_dir(user_add);
  user_add->add_option("login", account.login, "Login")->required();
  user_add->add_option("--name", account.name, "Display name");
  user_add->add_option("--email", account.email, "E-mail address");
  user_add->add_option("--password-file", account.password_file,
                       "Owner-only file holding the password");
  user_add->add_flag("--server-admin", account.server_admin, "Grant server-admin rights");
  user_add->add_option("--role", account.role,
                       "Bind this role (Viewer, Editor, Admin, Auditor, ...)");
  user_add->add_option("--namespace", account.namespace_name, "Namespace of the binding ('*': all)")
      ->capture_default_str();
  CLI::App* user_bind = user->add_subcommand("bind", "Bind a role to a user in a namespace");
  AddCommonFlags(user_bind, &flags);
  add_policy_dir(user_bind);
  user_bind->add_option("login", account.login, "Login")->required();
  user_bind->add_option("--role", account.role, "Role")->required();
  user_bind->add_option("--namespace", account.namespace_name, "Namespace ('*': all)")->required();
  CLI::App* user_passwd =
      user->add_subcommand("passwd", "Change a user's password (from --password-file or stdin)");
  AddCommonFlags(user_passwd, &flags);
  user_passwd->add_option("login", account.login, "Login")->required();
  user_passwd->add_option("--password-file", account.password_file,
                          "Owner-only file holding the password");
  CLI::App* user_del =
      user->add_subcommand("del", "Delete a user, its bindings, and (in effect) its tokens");
  AddCommonFlags(user_del, &flags);
  user_del->add_option("login", account.login, "Login")->required();
  CLI::App* user_list = user->add_subcommand("list", "List users");
  AddCommonFlags(user_list, &flags);

  CLI::App* token = app.add_subcommand("token", "Manage API tokens (works while the server runs)");
  token->require_subcommand(1);
  CLI::App* token_create =
      token->add_subcommand("create", "Create an API token; printed once on stdout");
  AddCommonFlags(token_create, &flags);
  add_policy_dir(token_create);
  token_create
      ->add_option("--user", account.login, "Owner (the token never exceeds the owner's rights)")
      ->required();
  token_create->add_option("--role", account.role, "The token's role")->required();
  token_create
      ->add_option("--namespace", account.namespace_name, "Namespace of the role ('*': all)")
      ->required();
  token_create->add_option("--ttl", account.ttl,
                           "Lifetime: 3600, 90m, 12h, 30d (default: no expiry)");
  token_create->add_option("--description", account.description, "What the token is for");
  CLI::App* token_list = token->add_subcommand("list", "List tokens (never their secrets)");
  AddCommonFlags(token_list, &flags);
  token_list->add_option("--user", account.login, "Only this owner's tokens");
  CLI::App* token_revoke = token->add_subcommand("revoke", "Revoke a token by id");
  AddCommonFlags(token_revoke, &flags);
  token_revoke->add_option("id", account.token_id, "Token id")->required();

  CLI::App* audit =
      app.add_subcommand("audit", "Read and verify the audit log (no token or server needed)");
  audit->require_subcommand(1);
  AuditVerifyFlags verify_flags;
  CLI::App* audit_verify = audit->add_subcommand(
      "verify", "Verify the hash chain and checkpoint signatures; exit 0 only when all verify");
  audit_verify
      ->add_option("--log", verify_flags.log_dirs,
                   "Audit log directory; several (one per node) are each verified, one line each")
      ->capture_default_str();
  audit_verify
      ->add_option("--public-key", verify_flags.public_key_file,
                   "The audit public key (PEM) you pinned, e.g. from GET /api/audit/public-key")
      ->required();
  audit_verify->add_option("--later-public-key", verify_flags.later_public_key_files,
                           "The audit key of a later token (after `escrow recover`), also pinned");
  audit_verify->add_option(
      "--expect-head", verify_flags.expect_head,
      "SEQ:HASH of a head seen earlier: detects a log cut at a record boundary");
  audit_verify->add_flag("--require-sealed", verify_flags.require_sealed,
                         "Fail if records follow the last signed checkpoint");
  AuditShowFlags show_flags;
  CLI::App* audit_show = audit->add_subcommand("show", "Print records (oldest first), filtered");
  audit_show->add_option("--log", show_flags.log_dir, "Audit log directory")->capture_default_str();
  const std::pair<const char*, const char*> show_filters[] = {
      {"since", "Records at or after this time (RFC 3339 UTC)"},
      {"until", "Records at or before this time (RFC 3339 UTC)"},
      {"actor", "Records by this actor name"},
      {"action", "Records of this action, e.g. secret.securevalues:create"},
      {"namespace", "Records about this namespace"},
      {"outcome", "allowed, denied or failed"}};
  for (const auto& [name, help] : show_filters) {
    audit_show->add_option(std::string("--") + name, show_flags.filters[name], help);
  }
  audit_show->add_option("--limit", show_flags.limit, "At most this many records")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  audit_show->add_flag("--json", show_flags.json, "One JSON record per line, as stored");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  HardenProcess();
  if (serve->parsed()) return Report(RunServe(serve_flags));
  if (join->parsed()) return Report(RunJoin(join_flags));
  if (tokend->parsed()) return Report(RunTokend(flags, tokend_flags));
  if (audit_verify->parsed()) return Report(RunAuditVerify(verify_flags));
  if (audit_show->parsed()) return Report(RunAuditShow(show_flags));
  if (Status s = InstallArena(flags); !s.ok()) return Report(s);
  if (user_add->parsed()) return Report(RunUserAdd(flags, account));
  if (user_bind->parsed()) return Report(RunUserBind(flags, account));
  if (user_passwd->parsed()) return Report(RunUserPasswd(flags, account));
  if (user_del->parsed()) return Report(RunUserDel(flags, account));
  if (user_list->parsed()) return Report(RunUserList(flags));
  if (token_create->parsed()) return Report(RunTokenCreate(flags, account));
  if (token_list->parsed()) return Report(RunTokenList(flags, account));
  if (token_revoke->parsed()) return Report(RunTokenRevoke(flags, account));
  if (init->parsed()) {
    if (!init_node_name.empty()) {
      if (!IsNodeName(init_node_name)) {
        return Report(
            Status::InvalidArgument("--node-name: must be " + std::string(kNodeNameRule)));
      }
      flags.node_name = init_node_name;
    }
    Status initialised = RunInit(flags, admin_password_file);
    if (initialised.ok() && (escrow.officers > 0 || escrow.threshold > 0)) {
      if (escrow.shares_dir.empty()) {
        return Report(Status::InvalidArgument("--escrow-shares-dir is required with escrow"));
      }
      initialised = RunEscrowSetup(flags, escrow);
    }
    return Report(initialised);
  }
  if (escrow_setup->parsed()) return Report(RunEscrowSetup(flags, escrow));
  if (escrow_recover->parsed()) return Report(RunEscrowRecover(flags, escrow));
  if (escrow_status->parsed()) return Report(RunEscrowStatus(flags));
  if (keys_list->parsed()) return Report(RunKeysList(flags));
  if (backup->parsed()) return Report(RunBackup(flags, backup_to));
  if (restore->parsed()) return Report(RunRestore(flags, restore_from));
  if (anchor_show->parsed()) return Report(RunAnchorShow(flags));
  if (anchor_adopt->parsed()) return Report(RunAnchorAdopt(flags));
  return 2;
}

}  // namespace strongroom::appliance

// The `strongroom` command tree.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "appliance/appliance.h"
#include "appliance/commands.h"

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
  cmd->add_option("--pin-file", flags->pin_file,
                  "File holding the token user PIN: owned by you, mode 0600 (or pin-source in the URI)");
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
      "init", "Create the token keys (KEK, audit key pair), the store and the admin user; idempotent");
  AddCommonFlags(init, &flags);
  init->add_option("--admin-password-file", admin_password_file,
                   "Owner-only file with the admin password (else one is generated and printed once)");

  CLI::App* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  CLI::App* keys_list = keys->add_subcommand("list", "List KEKs and data keys (never key material)");
  AddCommonFlags(keys_list, &flags);

  std::string backup_to;
  CLI::App* backup = app.add_subcommand("backup", "Write a consistent online backup");
  AddCommonFlags(backup, &flags);
  backup->add_option("--to", backup_to, "Backup directory (created; must not hold a backup)")->required();

  std::string restore_from;
  CLI::App* restore = app.add_subcommand(
      "restore", "Restore a backup (server stopped; needs every KEK of the backup in the token)");
  AddCommonFlags(restore, &flags);
  restore->add_option("--from", restore_from, "Backup directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  HardenProcess();
  if (Status s = InstallArena(flags); !s.ok()) return Report(s);
  if (init->parsed()) return Report(RunInit(flags, admin_password_file));
  if (keys_list->parsed()) return Report(RunKeysList(flags));
  if (backup->parsed()) return Report(RunBackup(flags, backup_to));
  if (restore->parsed()) return Report(RunRestore(flags, restore_from));
  return 2;
}

}  // namespace strongroom::appliance

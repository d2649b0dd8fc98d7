// appliance/environment.h — what every command opens, in order: process
// hardening, the secure arena, the data directory, the token, the store and
// the keyring. Private to appliance/.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/status.h"
#include "crypto/keyring.h"
#include "crypto/token.h"
#include "storage/storage.h"

namespace strongroom::appliance {

// Flags shared by the commands that touch the token and the store.
struct CommonFlags {
  std::string data_dir = "/var/lib/strongroom";
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_uri = "pkcs11:token=strongroom";
  std::string pin_file;
  std::size_t arena_mib = 4;
  bool allow_unlocked_memory = false;
};

// HardenProcess disables core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) and
// ignores SIGPIPE.
void HardenProcess();

// InstallArena creates the process secure arena from the flags; refuses
// when memory cannot be locked unless --allow-unlocked-memory (then warns).
Status InstallArena(const CommonFlags& flags);

// CheckDataDirOwner refuses when the data directory exists and is owned by
// another user than the effective one (SPEC section 4).
Status CheckDataDirOwner(const std::string& data_dir);

struct Environment {
  std::unique_ptr<crypto::Token> token;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<crypto::Keyring> keyring;  // null for OpenForInit
};

// OpenToken opens the token named by the flags.
StatusOr<std::unique_ptr<crypto::Token>> OpenToken(const CommonFlags& flags);

// OpenEnvironment opens token, store (create_if_missing as given) and, when
// `with_keyring`, the keyring (which needs an initialised store).
// OpenEnvironment opens token, store and (with_keyring) keyring. The server
// passes hold_server_lock so the CLI can tell it runs (storage.h).
StatusOr<Environment> OpenEnvironment(const CommonFlags& flags, bool create_if_missing,
                                      bool with_keyring, bool hold_server_lock = false);

}  // namespace strongroom::appliance

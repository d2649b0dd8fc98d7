#include "appliance/environment.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "base/secure_arena.h"

namespace strongroom::appliance {

void HardenProcess() {
  rlimit no_core{0, 0};
  (void)setrlimit(RLIMIT_CORE, &no_core);
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  (void)signal(SIGPIPE, SIG_IGN);
}

Status InstallArena(const CommonFlags& flags) {
  SecureArenaOptions options;
  options.size_bytes = flags.arena_mib << 20;
  options.allow_unlocked = flags.allow_unlocked_memory;
  SR_RETURN_IF_ERROR(SecureArena::InstallProcessArena(options));
  if (!SecureArena::Process()->locked()) {
    std::fprintf(stderr,
                 "warning: secure memory is NOT locked (--allow-unlocked-memory); secrets may be "
                 "swapped to disk\n");
  }
  return Status::Ok();
}

Status CheckDataDirOwner(const std::string& data_dir) {
  struct stat st{};
  if (::stat(data_dir.c_str(), &st) != 0) return Status::Ok();  // created later, by us
  if (st.st_uid != ::geteuid()) {
    return Status::PermissionDenied("the data directory " + data_dir + " is owned by uid " +
                                    std::to_string(st.st_uid) +
                                    "; run strongroom as that user (current uid " +
                                    std::to_string(::geteuid()) + ")");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<crypto::Token>> OpenToken(const CommonFlags& flags) {
  crypto::TokenOptions options;
  options.module = flags.module;
  options.token_uri = flags.token_uri;
  options.pin_file = flags.pin_file;
  return crypto::Token::Open(options);
}

StatusOr<Environment> OpenEnvironment(const CommonFlags& flags, bool create_if_missing,
                                      bool with_keyring, bool hold_server_lock) {
  SR_RETURN_IF_ERROR(CheckDataDirOwner(flags.data_dir));
  Environment env;
  SR_ASSIGN_OR_RETURN(env.token, OpenToken(flags));
  storage::StoreOptions store_options;
  store_options.data_dir = flags.data_dir;
  store_options.create_if_missing = create_if_missing;
  store_options.hold_server_lock = hold_server_lock;
  SR_ASSIGN_OR_RETURN(env.store, storage::Store::Open(store_options));
  if (with_keyring) {
    SR_ASSIGN_OR_RETURN(env.keyring, crypto::Keyring::Open(*env.token, *env.store));
  }
  return env;
}

}  // namespace strongroom::appliance

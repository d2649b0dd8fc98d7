// `strongroom tokend`: the token behind a privilege boundary (tokend/
// tokend.h, docs/tokend.md). Opens the token in this process (the only one
// holding the PIN and the PKCS#11 module), serves it on a unix socket to
// one allowed uid, and runs until SIGTERM or SIGINT. It audits nothing:
// the appliance records what it asks for.
// Under systemd (Type=notify, debian/strongroom-tokend.service)
// it reports READY=1 once the socket listens, so that strongroom.service,
// ordered after it, finds the socket; STOPPING=1 at shutdown. Without
// NOTIFY_SOCKET these do nothing.
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <charconv>
#include <cstdio>

#include "appliance/commands.h"
#include "tokend/tokend.h"

namespace strongroom::appliance {
namespace {

// ResolveUid accepts a numeric uid or a user name.
StatusOr<uid_t> ResolveUid(const std::string& user) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(user.data(), user.data() + user.size(), value);
  if (ec == std::errc() && end == user.data() + user.size() && !user.empty()) {
    return static_cast<uid_t>(value);
  }
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return std::unexpected(Status::InvalidArgument("--allowed-user: no user named " + user));
  }
  return pw->pw_uid;
}

StatusOr<mode_t> ParseMode(const std::string& text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
  if (ec != std::errc() || end != text.data() + text.size() || value > 0777) {
    return std::unexpected(Status::InvalidArgument("--socket-mode: an octal mode such as 0660"));
  }
  return static_cast<mode_t>(value);
}

}  // namespace

Status RunTokend(const CommonFlags& common, const TokendFlags& flags) {
  if (!common.token_service.empty()) {
    return Status::InvalidArgument(
        "tokend opens the token itself: --token-service names tokend for the other commands");
  }
  SR_ASSIGN_OR_RETURN(uid_t allowed, ResolveUid(flags.allowed_user));
  SR_ASSIGN_OR_RETURN(mode_t mode, ParseMode(flags.socket_mode));
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  HardenProcess();
  SR_RETURN_IF_ERROR(InstallArena(common));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<crypto::TokenService> token, OpenToken(common));
  tokend::TokendServerOptions options;
  options.socket_path = flags.socket_path;
  options.socket_mode = mode;
  options.allowed_uid = allowed;
  SR_ASSIGN_OR_RETURN(std::unique_ptr<tokend::TokendServer> server,
                      tokend::TokendServer::Start(options, *token));
  std::fprintf(stderr, "strongroom tokend: serving token %s on %s for uid %u\n",
               token->token_label().c_str(), flags.socket_path.c_str(),
               static_cast<unsigned>(allowed));
  (void)sd_notifyf(0, "READY=1\nSTATUS=serving token %s on %s", token->token_label().c_str(),
                   flags.socket_path.c_str());
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) == 0) break;
  }
  (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  server->Stop();
  server.reset();
  token.reset();
  std::fprintf(stderr, "strongroom tokend: stopped\n");
  return Status::Ok();
}

}  // namespace strongroom::appliance

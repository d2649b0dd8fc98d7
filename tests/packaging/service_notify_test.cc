// `strongroom serve` under systemd's Type=notify (debian/strongroom.service):
// the test plays the service manager. It binds a unix datagram socket, names
// it in NOTIFY_SOCKET for the server it starts, and checks that READY=1
// arrives only once GET /readyz answers 200, that SIGHUP is reported as
// RELOADING=1 then READY=1, that SIGTERM is reported as STOPPING=1, and that
// a server that cannot start never reports READY=1. The same for
// `strongroom tokend` (debian/strongroom-tokend.service, Type=notify):
// READY=1 only once its socket accepts connections, STOPPING=1 on SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"

extern char** environ;

namespace strongroom::testing_support {
namespace {

// NotifySocket is the service manager's end: a bound unix datagram socket
// whose path the server finds in NOTIFY_SOCKET (set by the constructor,
// cleared by the destructor).
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return;
    bound_ = true;
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }

  // Receive returns the next datagram, or nullopt after `seconds` without one.
  std::optional<std::string> Receive(int seconds) {
    timeval timeout{seconds, 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

bool HasLine(const std::string& message, const std::string& line) {
  return ("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos;
}

// ReadyProbe is what the manager's side saw when READY=1 arrived.
struct ReadyProbe {
  std::vector<std::string> messages;  // every datagram up to READY=1
  bool got_ready = false;
  long readyz_status = 0;  // GET /readyz right after READY=1 (0: no port file)
};

// WatchForReady receives until READY=1 (at most 60 s without a datagram),
// then at once reads the port file in `dir` and asks /readyz over TLS.
ReadyProbe WatchForReady(NotifySocket& socket, const std::string& dir, const std::string& ca) {
  ReadyProbe probe;
  while (std::optional<std::string> message = socket.Receive(60)) {
    probe.messages.push_back(*message);
    if (!HasLine(*message, "READY=1")) continue;
    probe.got_ready = true;
    const std::string port = ReadFileBytes(dir + "/port");
    if (!port.ends_with('\n')) break;
    HttpsClient client("https://127.0.0.1:" + port.substr(0, port.size() - 1), ca);
    client.SetTimeoutMs(5'000);
    probe.readyz_status = client.Request("GET", "/readyz", "", "").status;
    break;
  }
  return probe;
}

TEST(ServiceNotify, ReadyIsSentOnlyOnceReadyzAnswersAndReloadAndStopAreReported) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Stop(), 0);
  NotifySocket socket(server->dir() + "/notify");
  ASSERT_TRUE(socket.bound()) << std::strerror(errno);

  ReadyProbe probe;
  std::thread watcher([&] { probe = WatchForReady(socket, server->dir(), server->ca_path()); });
  const int restarted = server->Restart();  // the same server, now with NOTIFY_SOCKET
  watcher.join();
  ASSERT_EQ(restarted, 0);
  ASSERT_TRUE(probe.got_ready) << "no READY=1 within 60 s";
  // READY=1 is the first thing the server says, and /readyz already answers.
  ASSERT_EQ(probe.messages.size(), 1u) << probe.messages.front();
  EXPECT_TRUE(HasLine(probe.messages[0], "READY=1"));
  EXPECT_NE(probe.messages[0].find("STATUS=serving on 127.0.0.1:"), std::string::npos);
  EXPECT_EQ(probe.readyz_status, 200);

  // systemctl reload: RELOADING=1, the reload, READY=1 again.
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  std::optional<std::string> reloading = socket.Receive(30);
  ASSERT_TRUE(reloading.has_value());
  EXPECT_TRUE(HasLine(*reloading, "RELOADING=1")) << *reloading;
  std::optional<std::string> ready_again = socket.Receive(30);
  ASSERT_TRUE(ready_again.has_value());
  EXPECT_TRUE(HasLine(*ready_again, "READY=1")) << *ready_again;

  // systemctl stop: STOPPING=1, then a clean exit.
  EXPECT_EQ(server->Stop(), 0);
  std::optional<std::string> stopping = socket.Receive(5);
  ASSERT_TRUE(stopping.has_value());
  EXPECT_TRUE(HasLine(*stopping, "STOPPING=1")) << *stopping;
}

TEST(ServiceNotify, AServerThatCannotStartNeverSendsReady) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Stop(), 0);
  NotifySocket socket(server->dir() + "/notify");
  ASSERT_TRUE(socket.bound()) << std::strerror(errno);
  // The token's PIN file is missing: serve fails after start-up has begun.
  ::setenv("SOFTHSM2_CONF", server->token().conf_path().c_str(), 1);
  const std::string config = server->dir() + "/strongroom.toml";
  const std::string missing_pin = server->dir() + "/no-such-pin";
  std::vector<const char*> argv = {
      STRONGROOM_BINARY,   "serve", "--config", config.c_str(), "--pin-file",
      missing_pin.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, STRONGROOM_BINARY, &actions, nullptr,
                          const_cast<char* const*>(argv.data()), environ),
            0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  std::optional<std::string> message = socket.Receive(1);
  EXPECT_FALSE(message.has_value()) << *message;
}

// Connects returns whether a stream connection to the unix socket at `path`
// is accepted.
bool Connects(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

TEST(ServiceNotify, TokendSendsReadyOnlyOnceItsSocketListensAndStoppingOnSigterm) {
  TestToken token;  // sets SOFTHSM2_CONF for the tokend started below
  TempDir dir;
  NotifySocket socket(dir.Join("notify"));
  ASSERT_TRUE(socket.bound()) << std::strerror(errno);
  const std::string socket_path = dir.Join("tokend.sock");
  const std::string uid = std::to_string(::getuid());
  const std::string pin_file = token.pin_file();
  std::vector<const char*> argv = {STRONGROOM_BINARY,
                                   "tokend",
                                   "--socket",
                                   socket_path.c_str(),
                                   "--allowed-user",
                                   uid.c_str(),
                                   "--module",
                                   token.module_path().c_str(),
                                   "--token-uri",
                                   token.token_uri().c_str(),
                                   "--pin-file",
                                   pin_file.c_str(),
                                   "--arena-mib",
                                   "1",
                                   nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, STRONGROOM_BINARY, &actions, nullptr,
                          const_cast<char* const*>(argv.data()), environ),
            0);
  posix_spawn_file_actions_destroy(&actions);

  // READY=1 is the first thing tokend says, and its socket already listens.
  std::optional<std::string> ready = socket.Receive(60);
  const bool socket_listened = Connects(socket_path);
  if (!ready.has_value()) ::kill(pid, SIGKILL);
  ASSERT_TRUE(ready.has_value()) << "no READY=1 within 60 s";
  EXPECT_TRUE(HasLine(*ready, "READY=1")) << *ready;
  EXPECT_NE(ready->find("STATUS=serving token " + token.label() + " on " + socket_path),
            std::string::npos)
      << *ready;
  EXPECT_TRUE(socket_listened);

  // systemctl stop: STOPPING=1, then a clean exit that removes the socket.
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  std::optional<std::string> stopping = socket.Receive(30);
  ASSERT_TRUE(stopping.has_value());
  EXPECT_TRUE(HasLine(*stopping, "STOPPING=1")) << *stopping;
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  struct stat st{};
  EXPECT_NE(::lstat(socket_path.c_str(), &st), 0) << "the socket is left behind";
}

}  // namespace
}  // namespace strongroom::testing_support

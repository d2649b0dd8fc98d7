// TokendServer: the socket, the peer check and one thread per connection.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "tokend/request_handler.h"
#include "tokend/tokend.h"

namespace strongroom::tokend {

struct TokendServer::Impl {
  TokendServerOptions options;
  crypto::TokenService* service = nullptr;
  int listen_fd = -1;
  std::thread acceptor;
  std::mutex mu;
  struct Connection {
    int fd = -1;
    std::thread thread;
    bool done = false;
  };
  std::list<Connection> connections;  // guarded by mu
  bool stopping = false;              // guarded by mu
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> malformed{0};

  void Accept();
  void Serve(int fd);
  void ReapLocked();
};

namespace {

// PeerUid returns the uid of the process at the other end of `fd`.
StatusOr<uid_t> PeerUid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    return std::unexpected(Status::Internal("SO_PEERCRED failed"));
  }
  return cred.uid;
}

}  // namespace

void TokendServer::Impl::ReapLocked() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->done) {
      if (it->thread.joinable()) it->thread.join();
      ::close(it->fd);
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void TokendServer::Impl::Accept() {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        ::poll(nullptr, 0, 50);
        continue;
      }
      return;  // the listening socket was shut down
    }
    // SECURITY: the peer is checked before a byte of it is read.
    StatusOr<uid_t> uid = PeerUid(fd);
    if (!uid.has_value() || *uid != options.allowed_uid) {
      refused.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    std::lock_guard lock(mu);
    ReapLocked();
    if (stopping || connections.size() >= options.max_connections) {
      ::close(fd);
      continue;
    }
    Connection& c = connections.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, fd] { Serve(fd); });
  }
}

void TokendServer::Impl::Serve(int fd) {
  for (;;) {
    Bytes request;
    Status read = ReadFrame(fd, kMaxFrameBytes, &request);
    if (!read.ok()) {
      if (read.code() == StatusCode::kInvalidArgument) malformed.fetch_add(1);
      break;
    }
    Response response;
    if (!HandleRequest(*service, request, &response)) {
      malformed.fetch_add(1, std::memory_order_relaxed);
      break;  // a malformed frame closes the connection, unanswered
    }
    ByteSpan out = response.secret.empty() ? ByteSpan(response.plain)
                                           : response.secret.RevealSecret();
    if (!WriteAll(fd, out).ok()) break;
  }
  std::lock_guard lock(mu);
  // The peer sees the end now; whoever joins this thread closes `fd`
  // (ReapLocked or Stop), so the number is not reused while Stop may
  // still shut it down.
  ::shutdown(fd, SHUT_RDWR);
  for (Connection& c : connections) {
    if (c.fd == fd) c.done = true;
  }
}

TokendServer::TokendServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokendServer::~TokendServer() { Stop(); }

StatusOr<std::unique_ptr<TokendServer>> TokendServer::Start(const TokendServerOptions& options,
                                                            crypto::TokenService& service) {
  sockaddr_un addr{};
  if (options.socket_path.empty() || options.socket_path[0] != '/' ||
      options.socket_path.size() >= sizeof addr.sun_path) {
    return std::unexpected(
        Status::InvalidArgument("the token service socket must be an absolute path of at most " +
                                std::to_string(sizeof addr.sun_path - 1) + " bytes"));
  }
  struct stat st{};
  if (::lstat(options.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return std::unexpected(Status::FailedPrecondition(
          options.socket_path + " exists and is not a socket; refusing to replace it"));
    }
    ::unlink(options.socket_path.c_str());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->service = &service;
  impl->listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0) return std::unexpected(Status::Unavailable("socket() failed"));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, options.socket_path.data(), options.socket_path.size());
  // The socket is created owner-only and then given its mode, so no other
  // user can connect before the mode is set (the peer check would refuse
  // them anyway).
  const mode_t old_umask = ::umask(0177);
  const int bound = ::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_umask);
  if (bound != 0 || ::chmod(options.socket_path.c_str(), options.socket_mode) != 0 ||
      ::listen(impl->listen_fd, 64) != 0) {
    const int saved = errno;
    ::close(impl->listen_fd);
    return std::unexpected(Status::Unavailable("cannot listen on " + options.socket_path + ": " +
                                               std::strerror(saved)));
  }
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->Accept(); });
  return std::unique_ptr<TokendServer>(new TokendServer(std::move(impl)));
}

void TokendServer::Stop() {
  if (!impl_ || impl_->listen_fd < 0) return;
  ::shutdown(impl_->listen_fd, SHUT_RDWR);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
  std::list<Impl::Connection> connections;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (auto& c : impl_->connections) {
      ::shutdown(c.fd, SHUT_RDWR);
    }
    connections.swap(impl_->connections);
  }
  for (auto& c : connections) {
    if (c.thread.joinable()) c.thread.join();
    ::close(c.fd);
  }
  ::unlink(impl_->options.socket_path.c_str());
}

std::uint64_t TokendServer::refused_peers() const { return impl_->refused.load(); }
std::uint64_t TokendServer::malformed_frames() const { return impl_->malformed.load(); }

}  // namespace strongroom::tokend

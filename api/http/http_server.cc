#include "api/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "api/http/handler_pool.h"
#include "api/http/io_worker.h"
#include "base/bytes.h"

namespace strongroom::api {
namespace {

std::string FormatAddress(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&address);
  ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

StatusOr<int> Listen(const std::string& host, std::uint16_t port, std::uint16_t* bound_port) {
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
  } else {
    return std::unexpected(
        Status::InvalidArgument("listen address '" + host + "' is not an IP address"));
  }
  int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::unexpected(Status::Unavailable(std::string("socket: ") + std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 1024) != 0) {
    int error = errno;
    ::close(fd);
    return std::unexpected(Status::Unavailable("cannot listen on " + host + ":" +
                                               std::to_string(port) + ": " + std::strerror(error)));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  *bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

struct HttpServer::Impl {
  ServerShared shared;
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::unique_ptr<HandlerPool> pool;
  std::vector<std::unique_ptr<IoWorker>> workers;
  std::vector<std::thread> worker_threads;
  std::thread acceptor;
  std::atomic<bool> stopping{false};
  bool shut_down = false;

  void Accept() {
    std::size_t next = 0;
    while (!stopping.load(std::memory_order_acquire)) {
      sockaddr_storage address{};
      socklen_t length = sizeof(address);
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        return;  // the listening socket was shut down
      }
      shared.accepted.fetch_add(1, std::memory_order_relaxed);
      const ServerLimits& limits = shared.options.limits;
      if (shared.in_handshake.load() >= limits.max_handshakes) {
        shared.refused_over_capacity.fetch_add(1, std::memory_order_relaxed);
        ::close(fd);
        continue;
      }
      // At the connection cap a new connection takes the place of the
      // oldest idle one (of the worker holding the most), else it is closed.
      IoWorker* shedder = nullptr;
      if (shared.open_connections.load() >= limits.max_connections) {
        shedder = WorkerToShed();
        if (shedder == nullptr) {
          shared.refused_over_capacity.fetch_add(1, std::memory_order_relaxed);
          ::close(fd);
          continue;
        }
      }
      // SECURITY: one host must not use up the global caps (issue 16).
      std::string peer = FormatAddress(address);
      if (!shared.per_address.TryAdmit(HostOf(peer), limits.max_connections_per_address,
                                       limits.max_handshakes_per_address)) {
        shared.refused_over_capacity.fetch_add(1, std::memory_order_relaxed);
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      shared.open_connections.fetch_add(1);
      shared.in_handshake.fetch_add(1);
      if (shedder != nullptr) {
        shared.sheds_pending.fetch_add(1);
        shedder->AddConnection(fd, std::move(peer), /*shed_idle_first=*/true);
        continue;
      }
      workers[next++ % workers.size()]->AddConnection(fd, std::move(peer));
    }
  }

  // WorkerToShed is the worker with the most idle connections at its last
  // sweep, or nullptr when none has one or sheds already pending would pass
  // the cap by more than one connection per worker.
  IoWorker* WorkerToShed() {
    if (shared.sheds_pending.load() >= workers.size()) return nullptr;
    IoWorker* best = nullptr;
    for (auto& worker : workers) {
      if (worker->idle_connections() > 0 &&
          (best == nullptr || worker->idle_connections() > best->idle_connections())) {
        best = worker.get();
      }
    }
    return best;
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                        const TlsContext& tls, const Router& router,
                                                        ErrorResponder errors,
                                                        RequestMetrics* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->shared.options = options;
  impl->shared.tls = &tls;
  impl->shared.router = &router;
  impl->shared.errors = std::move(errors);
  impl->shared.metrics = metrics;
  unsigned char prefix[4];
  if (RAND_bytes(prefix, sizeof(prefix)) != 1)
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  impl->shared.request_id_prefix = HexEncode(ByteSpan(prefix, sizeof(prefix)));
  SR_ASSIGN_OR_RETURN(impl->listen_fd, Listen(options.host, options.port, &impl->port));
  const ServerLimits& limits = options.limits;
  impl->pool = std::make_unique<HandlerPool>(std::max(1u, limits.blocking_threads),
                                             limits.max_queued_requests);
  impl->shared.pool = impl->pool.get();
  for (unsigned i = 0; i < std::max(1u, limits.io_threads); ++i) {
    auto worker = std::make_unique<IoWorker>(impl->shared, i);
    SR_RETURN_IF_ERROR(worker->Init());
    impl->workers.push_back(std::move(worker));
  }
  for (auto& worker : impl->workers) {
    impl->worker_threads.emplace_back([w = worker.get()] {
      pthread_setname_np(pthread_self(), "sr-io");
      w->Run();
    });
  }
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] {
    pthread_setname_np(pthread_self(), "sr-accept");
    raw->Accept();
  });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown() {
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->stopping.store(true, std::memory_order_release);
  ::shutdown(impl_->listen_fd, SHUT_RDWR);  // wakes accept4
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  ::close(impl_->listen_fd);
  impl_->shared.draining.store(true, std::memory_order_release);
  for (auto& worker : impl_->workers) worker->Wake();
  for (std::thread& thread : impl_->worker_threads) thread.join();
  impl_->pool->Stop();
}

ServerCounters HttpServer::counters() const {
  const ServerShared& s = impl_->shared;
  ServerCounters c;
  c.accepted = s.accepted.load();
  c.handshakes_completed = s.handshakes_completed.load();
  c.handshakes_failed = s.handshakes_failed.load();
  c.refused_over_capacity = s.refused_over_capacity.load();
  c.requests = s.requests.load();
  c.open_connections = s.open_connections.load();
  c.handshaking_connections = s.in_handshake.load();
  c.idle_buffers_released = s.idle_buffers_released.load();
  c.deferred_offloaded = s.deferred_offloaded.load();
  c.shed_idle = s.shed_idle.load();
  for (const auto& worker : impl_->workers) c.idle_connections += worker->idle_connections();
  return c;
}

}  // namespace strongroom::api

#include "api/http/io_worker.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "api/http/hot_path_probe.h"

namespace strongroom::api {
namespace {

std::atomic<const HotPathProbe*> hot_path_probe{nullptr};

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kWakeTag = 0;
constexpr std::chrono::milliseconds kSweepInterval{100};
// A connection idle this long gives its TLS record buffers (about 34 KB)
// back; OpenSSL allocates them again when the client sends.
constexpr std::chrono::seconds kReleaseBuffersAfter{1};
constexpr std::size_t kReadChunk = 16 * 1024;
// Connections wait for input and hang-ups with one interest set, kept from
// the handshake through every request: changing it costs an epoll_ctl.
constexpr std::uint32_t kReadInterest = EPOLLIN | EPOLLRDHUP;
// After the last response on a connection the server stops sending and
// discards what the client still sends (for example the rest of a body it
// refused with 413) before closing: closing a socket with unread data
// makes the kernel send a reset that can destroy the response before the
// client reads it. Clients that send a whole body before reading (Python's
// http.client, many SDKs) need the discard to last until their last byte,
// as nginx's lingering close does: it ends when the client closes, after
// kLingerQuiet with nothing received, after kLingerMax in all, or past
// kLingerBytes.
constexpr std::chrono::milliseconds kLingerQuiet{2000};
constexpr std::chrono::milliseconds kLingerMax{10000};
constexpr std::size_t kLingerBytes = 64u << 20;

// Wipe overwrites bytes that may hold a request body (a secret value)
// before they are released.
void Wipe(std::string& bytes, std::size_t count) {
  if (count != 0) OPENSSL_cleanse(bytes.data(), count);
}

bool WantsKeepAlive(const Pistache::Http::Request& message) {
  using Pistache::Http::ConnectionControl;
  auto connection = message.headers().tryGet<Pistache::Http::Header::Connection>();
  if (message.version() == Pistache::Http::Version::Http10) {
    return connection && connection->control() == ConnectionControl::KeepAlive;
  }
  return !connection || connection->control() != ConnectionControl::Close;
}

}  // namespace

void SetHotPathProbe(const HotPathProbe* probe) {
  hot_path_probe.store(probe, std::memory_order_release);
}

std::string HostOf(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

bool AddressCounts::TryAdmit(const std::string& host, std::size_t max_open,
                             std::size_t max_handshaking) {
  std::lock_guard lock(mu_);
  Count& count = counts_[host];
  if ((max_open != 0 && count.open >= max_open) ||
      (max_handshaking != 0 && count.handshaking >= max_handshaking)) {
    if (count.open == 0) counts_.erase(host);
    return false;
  }
  ++count.open;
  ++count.handshaking;
  return true;
}

void AddressCounts::HandshakeDone(const std::string& host) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(host);
  if (it != counts_.end() && it->second.handshaking > 0) --it->second.handshaking;
}

void AddressCounts::Closed(const std::string& host, bool in_handshake) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(host);
  if (it == counts_.end()) return;
  if (in_handshake && it->second.handshaking > 0) --it->second.handshaking;
  if (it->second.open > 0) --it->second.open;
  if (it->second.open == 0) counts_.erase(it);
}

struct IoWorker::Connection {
  Connection(std::uint64_t id, int fd, const RequestLimits& limits)
      : fd(fd), peer(std::make_shared<PeerInfo>()), reader(limits) {
    peer->connection_id = id;
  }
  int fd;
  SslPtr ssl;
  // Filled on this thread before the first request (address at accept,
  // certificate after the handshake), read-only from then on. Shared with
  // every request of the connection, because a request can outlive it: at
  // shutdown the connection is freed after shutdown_grace while its
  // request's handler may still be running or queued on the pool.
  std::shared_ptr<PeerInfo> peer;
  State state = State::kHandshake;
  std::uint32_t interest = 0;
  std::string in;
  std::string out;
  std::size_t out_offset = 0;
  RequestReader reader;
  Deadline deadline_kind = Deadline::kHandshake;
  Clock::time_point deadline{};
  std::size_t requests = 0;
  bool close_after_write = false;
  bool detached = false;           // removed from epoll while a handler runs (peer hung up)
  bool processing = false;         // inside ProcessBuffered (responses continue its loop)
  bool closed = false;             // socket closed; destroyed by ReapClosed
  std::size_t lingered = 0;        // bytes discarded while lingering
  Clock::time_point linger_end{};  // lingering ends by then whatever arrives
  Clock::time_point idle_since{};  // kReading with nothing buffered since then
  bool buffers_held = true;        // OpenSSL may hold record buffers
  // The request being answered, for its metrics: its route (nullptr:
  // none matched, or it could not be parsed) and when it was parsed.
  const Route* route = nullptr;
  Clock::time_point request_parsed{};

  // Idle: established, between requests, nothing of a next one received.
  bool Idle() const {
    return !closed && state == State::kReading && deadline_kind == Deadline::kIdle && in.empty();
  }
};

IoWorker::IoWorker(ServerShared& shared, unsigned index) : shared_(shared), index_(index) {}

IoWorker::~IoWorker() {
  for (auto& [id, c] : connections_) {
    ::close(c->fd);
    Wipe(c->in, c->in.size());
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  {
    std::lock_guard lock(mailbox_->mu);
    mailbox_->wake_fd = -1;  // late completions are dropped from now on
    mailbox_->completions.clear();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  std::lock_guard lock(inbox_mu_);
  for (NewConnection& pending : new_connections_) ::close(pending.fd);
}

void IoWorker::Mailbox::Post(Completion completion) {
  std::lock_guard lock(mu);
  if (wake_fd < 0) return;  // the worker is gone
  completions.push_back(std::move(completion));
  if (wake_pending) return;
  wake_pending = true;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof(one));
}

Status IoWorker::Init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return Status::Internal(std::string("epoll/eventfd: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    return Status::Internal(std::string("epoll_ctl: ") + std::strerror(errno));
  }
  std::lock_guard lock(mailbox_->mu);
  mailbox_->wake_fd = wake_fd_;
  return Status::Ok();
}

void IoWorker::Wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void IoWorker::AddConnection(int fd, std::string address, bool shed_idle_first) {
  {
    std::lock_guard lock(inbox_mu_);
    new_connections_.push_back(NewConnection{fd, std::move(address), shed_idle_first});
  }
  Wake();
}

void IoWorker::PostCompletion(std::uint64_t connection_id, HttpResponse response, bool keep_alive,
                              std::string request_id) {
  mailbox_->Post(Completion{connection_id, std::move(response), keep_alive, std::move(request_id)});
}

void IoWorker::Run() {
  epoll_event events[256];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, 256, static_cast<int>(kSweepInterval.count()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
        continue;
      }
      auto it = connections_.find(events[i].data.u64);
      if (it != connections_.end() && !it->second->closed) OnEvent(*it->second, events[i].events);
    }
    DrainInbox();
    if (shared_.draining.load(std::memory_order_acquire) && !drain_started_) BeginDrain();
    Clock::time_point now = Clock::now();
    if (now - last_sweep_ >= kSweepInterval) {
      last_sweep_ = now;
      SweepDeadlines();
    }
    ReapClosed();
    if (drain_started_ && (connections_.empty() || now >= drain_deadline_)) break;
  }
  for (auto& [id, c] : connections_) {
    if (!c->closed) Close(*c);
  }
  ReapClosed();
}

void IoWorker::ReapClosed() {
  for (std::uint64_t id : closed_) connections_.erase(id);
  closed_.clear();
}

void IoWorker::DrainInbox() {
  std::vector<NewConnection> accepted;
  {
    std::lock_guard lock(inbox_mu_);
    accepted.swap(new_connections_);
  }
  {
    // Swapped with a vector of this worker's, so both keep their capacity:
    // a completion posted by the audit sequencer does not allocate.
    std::lock_guard lock(mailbox_->mu);
    draining_.swap(mailbox_->completions);
    mailbox_->wake_pending = false;
  }
  for (NewConnection& pending : accepted) {
    AdmitConnection(pending.fd, std::move(pending.address), pending.shed_idle_first);
  }
  for (Completion& done : draining_) {
    auto it = connections_.find(done.connection_id);
    if (it != connections_.end() && !it->second->closed) {
      Connection& c = *it->second;
      if (c.detached) {
        Close(c);
      } else {
        StartResponse(c, done.response, done.keep_alive, done.request_id);
      }
    }
    // The body may hold a secret value (SPEC 4: outside the locked arena).
    Wipe(done.response.body, done.response.body.size());
  }
  draining_.clear();
}

void IoWorker::SetInterest(Connection& c, std::uint32_t events) {
  if (c.interest == events && events != 0) return;
  epoll_event event{};
  event.events = events;
  event.data.u64 = c.peer->connection_id;
  int op = c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (events == 0) {
    op = EPOLL_CTL_DEL;
    if (c.interest == 0) return;
  }
  ::epoll_ctl(epoll_fd_, op, c.fd, &event);
  c.interest = events;
}

// AdmitConnection starts the TLS handshake of an accepted socket, which the
// acceptor already counted as open and handshaking.
void IoWorker::AdmitConnection(int fd, std::string address, bool shed_idle_first) {
  auto refuse = [&] {
    ::close(fd);
    shared_.open_connections.fetch_sub(1);
    shared_.in_handshake.fetch_sub(1);
    shared_.per_address.Closed(HostOf(address), /*in_handshake=*/true);
  };
  if (shed_idle_first) {
    bool shed = ShedOldestIdle();
    shared_.sheds_pending.fetch_sub(1);
    if (!shed) {
      shared_.refused_over_capacity.fetch_add(1, std::memory_order_relaxed);
      return refuse();
    }
  }
  std::uint64_t id = shared_.next_connection_id.fetch_add(1);
  auto c = std::make_unique<Connection>(id, fd, shared_.options.limits.request);
  c->ssl = shared_.tls->NewSsl();
  if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) {
    ERR_clear_error();
    return refuse();
  }
  c->peer->address = std::move(address);
  SSL_set_accept_state(c->ssl.get());
  c->deadline = Clock::now() + shared_.options.limits.handshake_timeout;
  Connection& ref = *c;
  connections_.emplace(id, std::move(c));
  SetInterest(ref, kReadInterest);
  DoHandshake(ref);
}

// ShedOldestIdle closes the connection that has waited longest for its next
// request, to make room for a new one at the connection cap (issue 16: an
// idle keep-alive connection is the cheapest to lose; its client reconnects).
// False when no connection is idle.
bool IoWorker::ShedOldestIdle() {
  Connection* oldest = nullptr;
  for (auto& [id, c] : connections_) {
    if (c->Idle() && (oldest == nullptr || c->idle_since < oldest->idle_since)) oldest = c.get();
  }
  if (oldest == nullptr) return false;
  shared_.shed_idle.fetch_add(1, std::memory_order_relaxed);
  Close(*oldest);
  return true;
}

void IoWorker::OnEvent(Connection& c, std::uint32_t events) {
  if (c.state == State::kHandling) {
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      // The client hung up while its handler runs: the response is dropped.
      c.detached = true;
      SetInterest(c, 0);
      return;
    }
    // Pipelined bytes: they wait in the socket until the response is out;
    // until then only a hang-up may wake the loop (level-triggered).
    SetInterest(c, EPOLLRDHUP);
    return;
  }
  if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
    Close(c);
    return;
  }
  switch (c.state) {
    case State::kHandshake:
      DoHandshake(c);
      break;
    case State::kReading:
      ReadAvailable(c);
      break;
    case State::kWriting:
      FlushWrites(c);
      break;
    case State::kLingering:
      Linger(c);
      break;
    case State::kHandling:
      break;
  }
}

void IoWorker::DoHandshake(Connection& c) {
  int rc = SSL_accept(c.ssl.get());
  if (rc == 1) {
    shared_.in_handshake.fetch_sub(1);
    shared_.per_address.HandshakeDone(HostOf(c.peer->address));
    shared_.handshakes_completed.fetch_add(1, std::memory_order_relaxed);
    c.peer->certificate = PeerCertificateFacts(c.ssl.get());
    c.state = State::kReading;
    c.deadline_kind = Deadline::kIdle;
    c.idle_since = Clock::now();
    c.deadline = c.idle_since + shared_.options.limits.idle_timeout;
    SetInterest(c, kReadInterest);
    ReadAvailable(c);  // TLS 1.3 clients often send the request with Finished
    return;
  }
  int error = SSL_get_error(c.ssl.get(), rc);
  if (error == SSL_ERROR_WANT_READ) return SetInterest(c, kReadInterest);
  if (error == SSL_ERROR_WANT_WRITE) return SetInterest(c, EPOLLOUT);
  // Plain HTTP, a refused protocol version or cipher, a certificate that
  // does not verify: the handshake fails and the socket is closed.
  ERR_clear_error();
  shared_.handshakes_failed.fetch_add(1, std::memory_order_relaxed);
  Close(c);
}

void IoWorker::ReadAvailable(Connection& c) {
  if (c.closed) return;
  if (const HotPathProbe* probe = hot_path_probe.load(std::memory_order_acquire)) probe->on_read();
  c.buffers_held = true;
  // A previous SSL_read may have asked for EPOLLOUT (WANT_WRITE); drop it so
  // an idle connection does not wake the loop on every writable event.
  SetInterest(c, kReadInterest);
  const RequestLimits& limits = shared_.options.limits.request;
  const std::size_t cap = limits.max_header_bytes + limits.max_body_bytes + kReadChunk;
  char buffer[kReadChunk];
  while (c.in.size() < cap) {
    int n = SSL_read(c.ssl.get(), buffer, sizeof(buffer));
    if (n > 0) {
      c.in.append(buffer, static_cast<std::size_t>(n));
      OPENSSL_cleanse(buffer, static_cast<std::size_t>(n));
      // A short read with nothing buffered in OpenSSL took what had
      // arrived; more wakes the (level-triggered) loop again. Asking now
      // would cost a read() that returns EAGAIN.
      if (static_cast<std::size_t>(n) < sizeof(buffer) && SSL_has_pending(c.ssl.get()) == 0) break;
      continue;
    }
    int error = SSL_get_error(c.ssl.get(), n);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_WANT_WRITE) {
      SetInterest(c, kReadInterest | EPOLLOUT);
      break;
    }
    ERR_clear_error();
    Close(c);  // closed by the peer, or a TLS error
    return;
  }
  ProcessBuffered(c);
}

void IoWorker::ProcessBuffered(Connection& c) {
  if (c.processing) return;  // the outer loop continues with the next request
  c.processing = true;
  ProcessRequests(c);
  c.processing = false;
}

void IoWorker::ProcessRequests(Connection& c) {
  const ServerLimits& limits = shared_.options.limits;
  while (!c.closed && c.state == State::kReading) {
    if (c.in.empty()) return;
    Clock::time_point now = Clock::now();
    if (c.deadline_kind == Deadline::kIdle) {
      c.deadline_kind = Deadline::kHeader;
      c.deadline = now + limits.header_timeout;
    }
    RequestReader::Result result = c.reader.Next(c.in);
    if (result.outcome == RequestReader::Outcome::kNeedMore) {
      if (c.reader.in_body() && c.deadline_kind == Deadline::kHeader) {
        c.deadline_kind = Deadline::kBody;
        c.deadline = now + limits.body_timeout;
      }
      return;
    }
    if (result.outcome == RequestReader::Outcome::kError) {
      Wipe(c.in, c.in.size());
      c.in.clear();
      RespondError(c, result.status, result.message, result.path);
      return;
    }
    Wipe(c.in, result.consumed);
    c.in.erase(0, result.consumed);
    Dispatch(c, std::move(result.request));
    if (const HotPathProbe* probe = hot_path_probe.load(std::memory_order_acquire)) {
      probe->on_dispatched();
    }
  }
}

void IoWorker::Dispatch(Connection& c, Pistache::Http::Request message) {
  shared_.requests.fetch_add(1, std::memory_order_relaxed);
  c.route = nullptr;
  c.request_parsed = Clock::now();
  ++c.requests;
  bool keep_alive = WantsKeepAlive(message) &&
                    c.requests < shared_.options.limits.max_requests_per_connection &&
                    !shared_.draining.load(std::memory_order_relaxed);
  auto request = std::make_shared<HttpRequest>();
  request->path = message.resource();
  request->message = std::move(message);
  request->peer = c.peer;
  request->request_id = NextRequestId();
  Router::Match match = shared_.router->Find(request->method(), request->path);
  if (match.route == nullptr) {
    int status = match.path_known ? 405 : 404;
    HttpResponse response =
        shared_.errors(status, status == 405 ? "method not allowed" : "not found", request->path);
    if (status == 405) {
      std::string allow;
      for (auto method : match.allowed) {
        if (!allow.empty()) allow += ", ";
        allow += Pistache::Http::methodString(method);
      }
      response.headers.emplace_back("Allow", allow);
    }
    return StartResponse(c, response, keep_alive, request->request_id);
  }
  request->params = std::move(match.params);
  const Route* route = match.route;
  c.route = route;
  auto run = [route, request, errors = &shared_.errors]() {
    HttpResponse response;
    try {
      response = route->handler(*request);
    } catch (const std::exception&) {
      response = (*errors)(500, "internal error", request->path);
    }
    // The body may hold a secret value (SPEC 4: outside the locked arena).
    std::string& body = const_cast<std::string&>(request->body());
    OPENSSL_cleanse(body.data(), body.size());
    return response;
  };
  if (route->execution == Execution::kInline) {
    HttpResponse response = run();
    return StartResponse(c, response, keep_alive, request->request_id);
  }
  c.state = State::kHandling;  // the read interest stays (OnEvent)
  std::uint64_t id = c.peer->connection_id;
  if (route->execution == Execution::kDeferred) {
    // Offload is only called during route->deferred, so it refers to these
    // locals (one pointer: no allocation per request).
    struct OffloadFrom {
      ServerShared* shared;
      std::shared_ptr<Mailbox> mailbox;
      std::uint64_t id;
      bool keep_alive;
      const std::shared_ptr<HttpRequest>* request;
    } from{&shared_, mailbox_, id, keep_alive, &request};
    const Offload offload = [&from](std::function<void()> task) {
      from.shared->deferred_offloaded.fetch_add(1, std::memory_order_relaxed);
      return from.shared->pool->Submit(
          [task = std::move(task), shared = from.shared, request = *from.request,
           respond = DeferredResponder(from.mailbox, from.id, from.keep_alive, *from.request)] {
            try {
              task();
            } catch (const std::exception&) {
              // A handler that throws has not answered (handlers answer last).
              respond(shared->errors(500, "internal error", request->path));
            }
          });
    };
    try {
      // Moved in: a copy of a std::function allocates.
      route->deferred(request, DeferredResponder(mailbox_, id, keep_alive, request), offload);
    } catch (const std::exception&) {
      // A handler that throws has not answered (handlers answer last).
      DeferredResponder(mailbox_, id, keep_alive,
                        request)(shared_.errors(500, "internal error", request->path));
    }
    return;
  }
  bool queued = shared_.pool->Submit([this, id, run, keep_alive, request]() mutable {
    HttpResponse response = run();
    PostCompletion(id, std::move(response), keep_alive, request->request_id);
  });
  if (!queued) {
    c.state = State::kReading;
    HttpResponse busy = shared_.errors(503, "server busy, retry later", request->path);
    busy.headers.emplace_back("Retry-After", "1");
    StartResponse(c, busy, keep_alive, request->request_id);
  }
}

Responder IoWorker::DeferredResponder(std::shared_ptr<Mailbox> mailbox, std::uint64_t id,
                                      bool keep_alive, std::shared_ptr<HttpRequest> request) {
  return [mailbox = std::move(mailbox), id, keep_alive,
          request = std::move(request)](HttpResponse response) {
    // The body may hold a secret value (SPEC 4: outside the locked arena).
    std::string& body = const_cast<std::string&>(request->body());
    OPENSSL_cleanse(body.data(), body.size());
    mailbox->Post(Completion{id, std::move(response), keep_alive, request->request_id});
  };
}

void IoWorker::RespondError(Connection& c, int status, std::string_view message,
                            std::string_view path) {
  HttpResponse response = shared_.errors(status, message, path);
  c.route = nullptr;
  c.request_parsed = Clock::now();
  StartResponse(c, response, /*keep_alive=*/false, NextRequestId());
}

void IoWorker::StartResponse(Connection& c, const HttpResponse& response, bool keep_alive,
                             std::string_view request_id) {
  keep_alive =
      keep_alive && !response.close_connection && !shared_.draining.load(std::memory_order_relaxed);
  // The connection's buffer is reused (emptied, its capacity kept, after
  // each response; given back when the connection turns idle).
  c.out.clear();
  AppendResponse(c.out, response, request_id, keep_alive);
  c.out_offset = 0;
  c.close_after_write = !keep_alive;
  c.state = State::kWriting;
  c.deadline_kind = Deadline::kWrite;
  const Clock::time_point now = Clock::now();
  c.deadline = now + shared_.options.limits.body_timeout;
  if (shared_.metrics != nullptr) {
    shared_.metrics->Observe(c.route, response.status, now - c.request_parsed);
  }
  FlushWrites(c);
}

void IoWorker::FlushWrites(Connection& c) {
  while (c.out_offset < c.out.size()) {
    int n = SSL_write(c.ssl.get(), c.out.data() + c.out_offset,
                      static_cast<int>(c.out.size() - c.out_offset));
    if (n > 0) {
      c.out_offset += static_cast<std::size_t>(n);
      continue;
    }
    int error = SSL_get_error(c.ssl.get(), n);
    if (error == SSL_ERROR_WANT_WRITE) return SetInterest(c, EPOLLOUT);
    if (error == SSL_ERROR_WANT_READ) return SetInterest(c, kReadInterest);
    ERR_clear_error();
    return Close(c);  // the client went away mid-response
  }
  Wipe(c.out, c.out.size());
  c.out.clear();
  c.out_offset = 0;
  if (c.close_after_write) {
    SSL_shutdown(c.ssl.get());  // best effort close_notify; never waits
    ERR_clear_error();
    ::shutdown(c.fd, SHUT_WR);
    c.state = State::kLingering;
    c.linger_end = Clock::now() + kLingerMax;
    c.deadline = std::min(c.linger_end, Clock::now() + kLingerQuiet);
    SetInterest(c, kReadInterest);
    return Linger(c);
  }
  c.state = State::kReading;
  c.deadline_kind = Deadline::kIdle;
  c.idle_since = Clock::now();
  c.deadline = c.idle_since + shared_.options.limits.idle_timeout;
  SetInterest(c, kReadInterest);
  // A pipelined request may already be buffered: inside ProcessBuffered its
  // loop takes it (no recursion per request); otherwise start it here. Bytes
  // still in the socket wake the loop; only OpenSSL's buffer needs a read.
  if (c.processing) return;
  if (SSL_has_pending(c.ssl.get()) != 0) return ReadAvailable(c);
  ProcessBuffered(c);
}

void IoWorker::Linger(Connection& c) {
  char buffer[kReadChunk];
  for (;;) {
    ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      c.lingered += static_cast<std::size_t>(n);
      if (c.lingered > kLingerBytes) return Close(c);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (c.lingered > 0) c.deadline = std::min(c.linger_end, Clock::now() + kLingerQuiet);
      return;
    }
    return Close(c);  // the client closed too, or an error
  }
}

void IoWorker::Close(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  closed_.push_back(c.peer->connection_id);
  if (c.interest != 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  Wipe(c.in, c.in.size());
  Wipe(c.out, c.out.size());
  if (c.state == State::kHandshake) shared_.in_handshake.fetch_sub(1);
  shared_.open_connections.fetch_sub(1);
  shared_.per_address.Closed(HostOf(c.peer->address), c.state == State::kHandshake);
}

void IoWorker::SweepDeadlines() {
  Clock::time_point now = Clock::now();
  std::vector<Connection*> expired;
  std::size_t idle = 0;
  for (auto& [id, c] : connections_) {
    if (c->Idle()) ++idle;
    if (!c->closed && c->state != State::kHandling && now >= c->deadline) {
      expired.push_back(c.get());
    } else if (c->buffers_held && c->state == State::kReading &&
               c->deadline_kind == Deadline::kIdle && c->in.empty() &&
               now - c->idle_since >= kReleaseBuffersAfter) {
      // Frees nothing while OpenSSL holds unread bytes; tried again later.
      c->buffers_held = SSL_free_buffers(c->ssl.get()) != 1;
      // Our own buffers (empty, wiped when emptied) go back too.
      c->in.shrink_to_fit();
      c->out.shrink_to_fit();
      if (!c->buffers_held) {
        shared_.idle_buffers_released.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  idle_hint_.store(idle, std::memory_order_relaxed);
  for (Connection* c : expired) {
    if (c->state == State::kHandshake) {
      shared_.handshakes_failed.fetch_add(1, std::memory_order_relaxed);
      Close(*c);
    } else if (c->state == State::kReading && c->deadline_kind != Deadline::kIdle) {
      RespondError(*c, 408, "request not received in time", "");
    } else {
      Close(*c);  // idle keep-alive, or a client that does not read its response
    }
  }
}

void IoWorker::BeginDrain() {
  drain_started_ = true;
  drain_deadline_ = Clock::now() + shared_.options.limits.shutdown_grace;
  std::vector<Connection*> idle;
  for (auto& [id, c] : connections_) {
    if (!c->closed && (c->state == State::kHandshake || c->state == State::kReading)) {
      idle.push_back(c.get());
    }
  }
  for (Connection* c : idle) Close(*c);
}

std::string IoWorker::NextRequestId() {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "-%u-%llx", index_,
                static_cast<unsigned long long>(++request_counter_));
  return shared_.request_id_prefix + suffix;
}

}  // namespace strongroom::api

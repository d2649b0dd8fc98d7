// api/http/io_worker.cc — IoWorker's loop (io_worker.h lists its other files):
// epoll waits, the hand-over queues from other threads (new connections,
// completions), epoll interest, closing and reaping connections.
#include "api/http/io_worker.h"

#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/http/io_connection.h"

namespace strongroom::api {

using io::Clock;
using io::kSweepInterval;
using io::kWakeTag;
using io::Wipe;

void SetHotPathProbe(const HotPathProbe* probe) {
  io::hot_path_probe.store(probe, std::memory_order_release);
}

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
  // Edge-triggered, and never read: every write to an eventfd signals
  // EPOLLIN anew, so a wake-up costs the waker its write and this thread no
  // read(). The counter only grows, by one a write; it would take 2^64
  // writes to fill.
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
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
      if (events[i].data.u64 == kWakeTag) continue;  // drained below (see Init)
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

// NextRequestId is "<prefix>-<worker>-<counter in hex>", written by hand:
// snprintf cost about 1.1k instructions a request.
std::string IoWorker::NextRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  char suffix[48];
  char* end = suffix + sizeof(suffix);
  char* p = end;
  std::uint64_t counter = ++request_counter_;
  do {
    *--p = kHex[counter & 0xf];
    counter >>= 4;
  } while (counter != 0);
  *--p = '-';
  unsigned worker = index_;
  do {
    *--p = static_cast<char>('0' + worker % 10);
    worker /= 10;
  } while (worker != 0);
  *--p = '-';
  const std::string& prefix = shared_.request_id_prefix;
  std::string id;
  id.reserve(prefix.size() + static_cast<std::size_t>(end - p));
  id.append(prefix).append(p, end);
  return id;
}

}  // namespace strongroom::api

// api/http/connection_lifetime.cc — part of IoWorker (io_worker.h): a
// connection's life around its requests: admission (shedding an idle one at
// the connection cap), deadlines, and the shutdown drain.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <vector>

#include "api/http/io_connection.h"

namespace strongroom::api {

using io::Clock;
using io::kReadInterest;
using io::kReleaseBuffersAfter;

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

}  // namespace strongroom::api

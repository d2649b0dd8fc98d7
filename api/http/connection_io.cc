// api/http/connection_io.cc — part of IoWorker (io_worker.h): a connection's
// events in each state: the non-blocking TLS handshake, reading with
// SSL_read, writing with SSL_write, and the lingering close.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "api/http/io_connection.h"

namespace strongroom::api {

using io::Clock;
using io::kLingerBytes;
using io::kLingerMax;
using io::kLingerQuiet;
using io::kReadChunk;
using io::kReadInterest;
using io::Wipe;

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
  if (const HotPathProbe* probe = io::hot_path_probe.load(std::memory_order_acquire)) {
    probe->on_read();
  }
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
  if (c.close_after_write) return StartLinger(c);
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

// StartLinger ends the connection's last response: close_notify, no more
// sending, then Linger until the client is done (see kLingerQuiet).
void IoWorker::StartLinger(Connection& c) {
  SSL_shutdown(c.ssl.get());  // best effort close_notify; never waits
  ERR_clear_error();
  ::shutdown(c.fd, SHUT_WR);
  c.state = State::kLingering;
  c.linger_end = Clock::now() + kLingerMax;
  c.deadline = std::min(c.linger_end, Clock::now() + kLingerQuiet);
  SetInterest(c, kReadInterest);
  Linger(c);
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

}  // namespace strongroom::api

// api/http/io_connection.h — one connection as an I/O worker holds it, and the
// constants and helpers that the worker's files share (private to
// api/http; see io_worker.h for which file does what).
//
// Thread-safety: a Connection is touched only by its worker's thread, except
// `peer`, which is filled before the first request and read-only after.
#pragma once

#include <openssl/crypto.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http/hot_path_probe.h"
#include "api/http/io_worker.h"

namespace strongroom::api::io {

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

// Wipe overwrites the first `count` bytes of `bytes`, which may hold a
// request body (a secret value), before they are released.
inline void Wipe(std::string& bytes, std::size_t count) {
  if (count != 0) OPENSSL_cleanse(bytes.data(), count);
}

// hot_path_probe is the test seam of hot_path_probe.h (nullptr in
// production), set by SetHotPathProbe.
inline std::atomic<const HotPathProbe*> hot_path_probe{nullptr};

}  // namespace strongroom::api::io

namespace strongroom::api {

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
  io::Clock::time_point deadline{};
  std::size_t requests = 0;
  bool close_after_write = false;
  bool detached = false;               // removed from epoll while a handler runs (peer hung up)
  bool processing = false;             // inside ProcessBuffered (responses continue its loop)
  bool closed = false;                 // socket closed; destroyed by ReapClosed
  std::size_t lingered = 0;            // bytes discarded while lingering
  io::Clock::time_point linger_end{};  // lingering ends by then whatever arrives
  io::Clock::time_point idle_since{};  // kReading with nothing buffered since then
  bool buffers_held = true;            // OpenSSL may hold record buffers
  // The request being answered, for its metrics: its route (nullptr:
  // none matched, or it could not be parsed) and when it was parsed.
  const Route* route = nullptr;
  io::Clock::time_point request_parsed{};

  // Idle: established, between requests, nothing of a next one received.
  bool Idle() const {
    return !closed && state == State::kReading && deadline_kind == Deadline::kIdle && in.empty();
  }
};

}  // namespace strongroom::api

// api/http/io_worker.h — one I/O thread of the TLS front (private to api/http): an
// epoll loop owning its connections from accept to close: non-blocking TLS
// handshake, request framing, inline handlers, response writes, deadlines.
//
// Its definition is split by what each part does (read in this order):
//   io_worker.cc            the loop, the hand-over queues from other threads,
//                           epoll interest and closing
//   io_connection.h         one connection's state and the shared constants
//   connection_io.cc        per-state events: TLS handshake, SSL_read,
//                           SSL_write, the lingering close
//   request_dispatch.cc     framing buffered bytes into requests, routing,
//                           running handlers (inline, deferred, pool) and
//                           starting their responses
//   connection_lifetime.cc  admission, shedding idle connections at the
//                           cap, deadlines and the shutdown drain
//
// Thread-safety: AddConnection, PostCompletion and Wake may be called from
// any thread; everything else runs on the worker's own thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/http/server_shared.h"

namespace strongroom::api {

class IoWorker {
 public:
  IoWorker(ServerShared& shared, unsigned index);
  ~IoWorker();
  IoWorker(const IoWorker&) = delete;
  IoWorker& operator=(const IoWorker&) = delete;

  // Init creates the epoll instance and the wake-up eventfd.
  Status Init();
  // Run is the thread body; returns when draining finished.
  void Run();
  // AddConnection hands an accepted, non-blocking socket to this worker,
  // which owns it from now on. With `shed_idle_first` (the server is at its
  // connection cap) the worker first closes its oldest idle keep-alive
  // connection; with none left, it closes the new socket instead.
  void AddConnection(int fd, std::string address, bool shed_idle_first = false);
  // idle_connections is how many established connections were waiting for
  // a request at the last deadline sweep (at most kSweepInterval old).
  std::size_t idle_connections() const { return idle_hint_.load(std::memory_order_relaxed); }
  // PostCompletion delivers a blocking or deferred handler's response.
  void PostCompletion(std::uint64_t connection_id, HttpResponse response, bool keep_alive,
                      std::string request_id);
  void Wake();

 private:
  struct Connection;
  struct Completion {
    std::uint64_t connection_id;
    HttpResponse response;
    bool keep_alive;
    std::string request_id;
  };
  enum class State { kHandshake, kReading, kHandling, kWriting, kLingering };
  enum class Deadline { kHandshake, kIdle, kHeader, kBody, kWrite };

  void DrainInbox();
  void OnEvent(Connection& c, std::uint32_t events);
  void DoHandshake(Connection& c);
  void ReadAvailable(Connection& c);
  void ProcessBuffered(Connection& c);
  void ProcessRequests(Connection& c);
  void ReapClosed();
  struct FrontRequest;
  void Dispatch(Connection& c, Pistache::Http::Request message);
  void RespondNoRoute(Connection& c, const Router::Match& match, const HttpRequest& request,
                      bool keep_alive);
  void RunDeferred(const Route& route, const std::shared_ptr<FrontRequest>& request,
                   std::uint64_t id, bool keep_alive);
  void RunBlocking(Connection& c, const Route& route, std::shared_ptr<HttpRequest> request,
                   bool keep_alive);
  void StartResponse(Connection& c, const HttpResponse& response, bool keep_alive,
                     std::string_view request_id);
  void RespondError(Connection& c, int status, std::string_view message, std::string_view path);
  void FlushWrites(Connection& c);
  void StartLinger(Connection& c);
  void Linger(Connection& c);
  void SetInterest(Connection& c, std::uint32_t events);
  void Close(Connection& c);
  void SweepDeadlines();
  void AdmitConnection(int fd, std::string address, bool shed_idle_first);
  bool ShedOldestIdle();
  void BeginDrain();
  std::string NextRequestId();

  ServerShared& shared_;
  const unsigned index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::uint64_t request_counter_ = 0;
  bool drain_started_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::chrono::steady_clock::time_point last_sweep_{};
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::uint64_t> closed_;  // closed this iteration, destroyed by ReapClosed
  std::vector<Completion> draining_;   // the mailbox's completions being answered

  // Mailbox takes completions from other threads. Deferred handlers hold it
  // past this worker's life (a late answer after shutdown is dropped): it
  // is shared, and the worker detaches it (wake_fd -1) before closing the
  // eventfd. One eventfd write per batch of completions (wake_pending).
  struct Mailbox {
    std::mutex mu;
    std::vector<Completion> completions;  // guarded by mu
    int wake_fd = -1;                     // guarded by mu
    bool wake_pending = false;            // guarded by mu
    void Post(Completion completion);
  };

  struct NewConnection {
    int fd;
    std::string address;
    bool shed_idle_first;
  };
  std::mutex inbox_mu_;
  std::vector<NewConnection> new_connections_;  // guarded by inbox_mu_
  std::atomic<std::size_t> idle_hint_{0};
  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();

  // FrontRequest is a request as the front builds it, with, for a
  // kDeferred route, where its answer goes and a reference to itself held
  // until it is answered: its Responder holds a plain pointer, which a
  // std::function stores without allocating (one capturing a shared_ptr
  // allocates).
  struct FrontRequest : HttpRequest {
    std::shared_ptr<Mailbox> mailbox;
    std::uint64_t connection_id = 0;
    bool keep_alive = false;
    std::shared_ptr<FrontRequest> self;  // set until answered
  };

  // DeferredResponder answers `request` (of connection `id`) through
  // `mailbox`, from any thread, after wiping the request's body. The request
  // holds itself until then.
  // REQUIRES: called at most once per request, and the Responder it returns
  // called exactly once (Responder's contract): an unanswered one keeps its
  // request.
  static Responder DeferredResponder(std::shared_ptr<Mailbox> mailbox, std::uint64_t id,
                                     bool keep_alive, const std::shared_ptr<FrontRequest>& request);
  // Answer is the Responder's call: posts `response` for `request` and
  // drops the request's reference to itself.
  static void Answer(FrontRequest& request, HttpResponse response);
};

}  // namespace strongroom::api

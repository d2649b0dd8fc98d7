// api/http/request_dispatch.cc — part of IoWorker (io_worker.h): from buffered
// bytes to a response: framing requests, routing them, running each handler
// where its Execution says, and starting its response.
#include <openssl/crypto.h>

#include <exception>
#include <functional>

#include "api/http/io_connection.h"

namespace strongroom::api {
namespace {

using io::Clock;
using io::Wipe;

bool WantsKeepAlive(const Pistache::Http::Request& message) {
  using Pistache::Http::ConnectionControl;
  auto connection = message.headers().tryGet<Pistache::Http::Header::Connection>();
  if (message.version() == Pistache::Http::Version::Http10) {
    return connection && connection->control() == ConnectionControl::KeepAlive;
  }
  return !connection || connection->control() != ConnectionControl::Close;
}

// RunHandler runs a kInline or kBlocking route's handler; one that throws
// answers 500. The request's body is wiped after, either way.
HttpResponse RunHandler(const Route& route, HttpRequest& request, const ErrorResponder& errors) {
  HttpResponse response;
  try {
    response = route.handler(request);
  } catch (const std::exception&) {
    response = errors(500, "internal error", request.path);
  }
  // The body may hold a secret value (SPEC 4: outside the locked arena).
  std::string& body = const_cast<std::string&>(request.body());
  OPENSSL_cleanse(body.data(), body.size());
  return response;
}

}  // namespace

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
    if (const HotPathProbe* probe = io::hot_path_probe.load(std::memory_order_acquire)) {
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
  auto request = std::make_shared<FrontRequest>();
  request->path = message.resource();
  request->message = std::move(message);
  request->peer = c.peer;
  request->request_id = NextRequestId();
  Router::Match match = shared_.router->Find(request->method(), request->path);
  if (match.route == nullptr) return RespondNoRoute(c, match, *request, keep_alive);
  request->params = std::move(match.params);
  const Route& route = *match.route;
  c.route = &route;
  if (route.execution == Execution::kInline) {
    HttpResponse response = RunHandler(route, *request, shared_.errors);
    return StartResponse(c, response, keep_alive, request->request_id);
  }
  c.state = State::kHandling;  // the read interest stays (OnEvent)
  if (route.execution == Execution::kDeferred) {
    return RunDeferred(route, request, c.peer->connection_id, keep_alive);
  }
  RunBlocking(c, route, std::move(request), keep_alive);
}

// RespondNoRoute answers a request no route takes: 405 with an Allow header
// when another method has a route for the path, else 404.
void IoWorker::RespondNoRoute(Connection& c, const Router::Match& match, const HttpRequest& request,
                              bool keep_alive) {
  int status = match.path_known ? 405 : 404;
  HttpResponse response =
      shared_.errors(status, status == 405 ? "method not allowed" : "not found", request.path);
  if (status == 405) {
    std::string allow;
    for (auto method : match.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += Pistache::Http::methodString(method);
    }
    response.headers.emplace_back("Allow", allow);
  }
  StartResponse(c, response, keep_alive, request.request_id);
}

// RunDeferred starts a kDeferred route's handler on this thread; it answers
// through the mailbox, from this thread or another, once.
void IoWorker::RunDeferred(const Route& route, const std::shared_ptr<FrontRequest>& request,
                           std::uint64_t id, bool keep_alive) {
  // Offload is only called during route.deferred, so it refers to these
  // locals (one pointer: no allocation per request).
  struct OffloadFrom {
    ServerShared* shared;
    const std::shared_ptr<FrontRequest>* request;
  } from{&shared_, &request};
  const Offload offload = [&from](std::function<void()> task) {
    from.shared->deferred_offloaded.fetch_add(1, std::memory_order_relaxed);
    return from.shared->pool->Submit(
        [task = std::move(task), shared = from.shared, request = *from.request] {
          try {
            task();
          } catch (const std::exception&) {
            // A handler that throws has not answered (handlers answer last).
            Answer(*request, shared->errors(500, "internal error", request->path));
          }
        });
  };
  try {
    // Moved in: a copy of a std::function allocates.
    route.deferred(request, DeferredResponder(mailbox_, id, keep_alive, request), offload);
  } catch (const std::exception&) {
    // A handler that throws has not answered (handlers answer last).
    Answer(*request, shared_.errors(500, "internal error", request->path));
  }
}

// RunBlocking queues a kBlocking route's handler on the pool, whose answer
// comes back through the mailbox; a full pool answers 503 at once.
void IoWorker::RunBlocking(Connection& c, const Route& route, std::shared_ptr<HttpRequest> request,
                           bool keep_alive) {
  std::uint64_t id = c.peer->connection_id;
  bool queued = shared_.pool->Submit(
      [this, id, route = &route, errors = &shared_.errors, keep_alive, request] {
        HttpResponse response = RunHandler(*route, *request, *errors);
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
                                      bool keep_alive,
                                      const std::shared_ptr<FrontRequest>& request) {
  request->mailbox = std::move(mailbox);
  request->connection_id = id;
  request->keep_alive = keep_alive;
  request->self = request;
  FrontRequest* unanswered = request.get();
  return [unanswered](HttpResponse response) { Answer(*unanswered, std::move(response)); };
}

void IoWorker::Answer(FrontRequest& request, HttpResponse response) {
  // Freed on return at the latest, unless another owner holds it.
  const std::shared_ptr<FrontRequest> held = std::move(request.self);
  // The body may hold a secret value (SPEC 4: outside the locked arena).
  std::string& body = const_cast<std::string&>(request.body());
  OPENSSL_cleanse(body.data(), body.size());
  request.mailbox->Post(Completion{request.connection_id, std::move(response), request.keep_alive,
                                   request.request_id});
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

}  // namespace strongroom::api

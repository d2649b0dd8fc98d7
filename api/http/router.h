// api/http/router.h — maps (method, path) to a route handler: patterns of
// fixed segments and ":param" segments, matched without heap allocation.
//
// Thread-safety: routes are added before the server starts; Find is then
// const and safe from every thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_message.h"

namespace strongroom::api {

// Execution says where a handler runs. kInline handlers run on the I/O
// thread that parsed the request and must not block (no password hashing,
// no token round trip that is not cached, no store write); kBlocking ones
// run on the bounded handler pool. kDeferred handlers start on the I/O
// thread like kInline ones and answer later, from any thread, through
// their Responder (the decrypt path: its audit records are group-committed
// while the I/O thread serves other connections).
enum class Execution { kInline, kBlocking, kDeferred };

using RouteHandler = std::function<HttpResponse(HttpRequest&)>;
// Responder delivers a kDeferred handler's response: call it exactly once,
// from any thread, when the handler is done with the request.
using Responder = std::function<void(HttpResponse)>;
// Offload lets a kDeferred handler that finds it must block after all (a
// data key not in the cache needs a token round trip) move the rest of its
// work to the handler pool. Returns false, without running `task`, when
// the pool's queue is full. Call it only while the handler runs (it refers
// to the request's state on the I/O thread); `task` must answer.
using Offload = std::function<bool(std::function<void()> task)>;
using DeferredHandler =
    std::function<void(std::shared_ptr<HttpRequest>, Responder, const Offload&)>;

struct Route {
  Execution execution = Execution::kBlocking;
  RouteHandler handler;      // kInline, kBlocking
  DeferredHandler deferred;  // kDeferred
  std::string pattern;
  Pistache::Http::Method method = Pistache::Http::Method::Get;
  std::size_t index = 0;  // 0, 1, ... in the order routes were added (route_at)
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Add registers `pattern` ("/apis/x/namespaces/:ns/things/:name"). A
  // pattern ending in '/' ("/ui/", a folder's index page) has no parameter
  // and matches only that exact path: the one spelling of a path with an
  // empty last segment that Find accepts.
  // At most RouteParams::kMaxParams parameters, each named in at most
  // RouteParams::kMaxName bytes (std::invalid_argument otherwise).
  // REQUIRES: the pattern is not registered for `method` yet.
  void Add(Pistache::Http::Method method, std::string_view pattern, Execution execution,
           RouteHandler handler);
  // AddDeferred registers a kDeferred route.
  void AddDeferred(Pistache::Http::Method method, std::string_view pattern,
                   DeferredHandler handler);

  struct Match {
    const Route* route = nullptr;  // nullptr: no route for this method
    RouteParams params;  // offsets into the path given to Find
    bool path_known = false;  // some method has a route for the path (405)
    // The methods registered for the path, filled only when `route` is
    // nullptr (a 405's Allow header).
    std::vector<Pistache::Http::Method> allowed;
  };
  // RouteInfo is one registered (method, pattern) pair.
  struct RouteInfo {
    Pistache::Http::Method method;
    std::string pattern;
  };
  // Routes lists every registered route, in registration order (the
  // OpenAPI document is checked against it).
  std::vector<RouteInfo> Routes() const;

  // Find looks up `path` (starting with '/', no query). A path with an empty
  // segment or a "." / ".." segment matches nothing, except a registered
  // pattern ending in '/' (see Add), matched exactly. Where several patterns
  // match, the one with a fixed segment where the others have a parameter,
  // first from the left, wins ("/s/:a/bulk" over "/s/:a/:b" for "/s/x/bulk").
  // A found route allocates nothing.
  Match Find(Pistache::Http::Method method, std::string_view path) const;

  // route_count is the number of routes added; route_at(i) is the route
  // whose index is i (REQUIRES: i < route_count()), for tables kept per
  // route (request metrics).
  std::size_t route_count() const;
  const Route& route_at(std::size_t index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::api

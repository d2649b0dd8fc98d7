// api/http/http_message.h — one HTTP request as a route handler sees it, and the
// response it returns.
//
// Thread-safety: a request and its response belong to the one thread that
// handles them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http/pistache.h"
#include "base/certificate_facts.h"

namespace strongroom::api {

// PeerInfo is what the TLS front knows about the connection.
struct PeerInfo {
  std::uint64_t connection_id = 0;
  std::string address;  // "ip:port" of the client
  // The client certificate's facts, only when one was presented and
  // verified against the configured client CA during the handshake.
  std::optional<CertificateFacts> certificate;
};

// TrimOws is a header field value without the optional whitespace around
// it (spaces and tabs, RFC 9110 section 5.6.3).
std::string_view TrimOws(std::string_view value);

// RouteParams holds a matched route's parameters without allocating: each
// name inline (route patterns name parameters in at most kMaxName bytes),
// each value as an offset into the request's path, so a moved or copied
// HttpRequest keeps them valid.
class RouteParams {
 public:
  static constexpr std::size_t kMaxParams = 6;
  static constexpr std::size_t kMaxName = 23;
  // Add records `name` = path[begin, begin + length).
  // REQUIRES: size() < kMaxParams, name.size() <= kMaxName (Router::Add checks).
  void Add(std::string_view name, std::size_t begin, std::size_t length);
  std::size_t size() const { return count_; }
  std::string_view name(std::size_t i) const { return {params_[i].name, params_[i].name_length}; }
  // value is parameter i's value in `path`, the path it was matched in.
  std::string_view value(std::size_t i, std::string_view path) const {
    return path.substr(params_[i].begin, params_[i].length);
  }
  // Get is the value of parameter `name` in `path`; empty if none.
  std::string_view Get(std::string_view name, std::string_view path) const;

 private:
  struct Param {
    char name[kMaxName];
    std::uint8_t name_length;
    std::uint32_t begin;
    std::uint32_t length;
  };
  Param params_[kMaxParams];
  std::size_t count_ = 0;
};

// HttpRequest is a parsed request. `message` is Pistache's parsed request
// (method, resource, version, headers, query, body); the body may hold a
// secret value and is wiped by the front after the response is built.
struct HttpRequest {
  Pistache::Http::Request message;
  std::string path;    // the request target's path, as sent (not decoded)
  RouteParams params;  // route parameters, offsets into `path`
  // The connection's peer, shared with it: valid for as long as the request
  // is, even after the connection was closed and freed (never null for a
  // request the front built).
  std::shared_ptr<const PeerInfo> peer;
  std::string request_id;

  // Header returns the raw value of header `name` (case-insensitive).
  std::optional<std::string> Header(const std::string& name) const;
  // Param returns the route parameter (":ns" -> Param("ns")); empty if none.
  std::string_view Param(std::string_view name) const;
  const std::string& body() const { return message.body(); }
  Pistache::Http::Method method() const { return message.method(); }
};

// HttpResponse is what a handler returns.
struct HttpResponse {
  int status = 200;
  // content_type names text with static storage (a literal or a constant):
  // a view, so building a response does not allocate it (issue 19).
  std::string_view content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  bool close_connection = false;  // answer with Connection: close and close
};

// SerializeResponse writes the status line, headers and body. Every
// response carries Content-Type (unless empty), Content-Length (except a
// 204), `Cache-Control: no-store`,
// `X-Content-Type-Options: nosniff` and X-Request-Id; `Connection: close`
// when !keep_alive.
std::string SerializeResponse(const HttpResponse& response, std::string_view request_id,
                              bool keep_alive);
// AppendResponse is SerializeResponse appending to `out`, so a connection
// can reuse its output buffer (no allocation once it is large enough).
void AppendResponse(std::string& out, const HttpResponse& response, std::string_view request_id,
                    bool keep_alive);

}  // namespace strongroom::api

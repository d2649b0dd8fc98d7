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

// HttpRequest is a parsed request. `message` is Pistache's parsed request
// (method, resource, version, headers, query, body); the body may hold a
// secret value and is wiped by the front after the response is built.
struct HttpRequest {
  Pistache::Http::Request message;
  std::string path;  // the request target's path, as sent (not decoded)
  std::vector<std::pair<std::string, std::string>> params;  // route parameters
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
  std::string content_type = "application/json";
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

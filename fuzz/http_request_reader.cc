// Fuzz target: the HTTP/1.1 framing of api/http/request_reader.* (header
// block limits, request-smuggling checks, Content-Length bodies,
// pipelining), then what the I/O worker does with a complete request:
// route lookup and the query and header reads the routes make.
//
// The input is the decrypted byte stream of one connection. It is read
// three ways: all at once and in small chunks with the default limits
// (the two must frame the same requests: framing may not depend on how
// TCP cut the stream), and in chunks with tiny limits (431 and 413).
// Pistache's parser is Debian's uninstrumented libpistache.so: coverage
// guides through our framing, not through Pistache's internals.
#include <cstdint>
#include <string>
#include <vector>

#include "api/http/http_message.h"
#include "api/http/request_reader.h"
#include "api/http/router.h"
#include "api/wire/query_string.h"
#include "fuzz/fuzz_support.h"

namespace strongroom::fuzz {
namespace {

using api::RequestLimits;
using api::RequestReader;
using Pistache::Http::Method;

const api::Router& Routes() {
  static const api::Router* router = [] {
    auto* r = new api::Router();
    auto none = [](api::HttpRequest&) { return api::HttpResponse{}; };
    for (const char* pattern :
         {"/healthz", "/readyz", "/metrics", "/apis",
          "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues",
          "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name",
          "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name/decrypt",
          "/v1.0/secrets/:store/:name", "/api/admin/users/:id",
          "/api/enterprise/secrets/v1/namespaces/:ns/secrets/:name"}) {
      r->Add(Method::Get, pattern, api::Execution::kInline, none);
      r->Add(Method::Put, pattern, api::Execution::kBlocking, none);
    }
    return r;
  }();
  return *router;
}

// Event is what one call of Next decided, for comparing two readings.
struct Event {
  RequestReader::Outcome outcome;
  std::size_t consumed;
  int status;
  bool operator==(const Event&) const = default;
};

void UseRequest(Pistache::Http::Request& message) {
  api::HttpRequest request;
  request.path = message.resource();
  request.message = std::move(message);
  (void)request.Header("content-type");
  (void)request.Header("connection");
  for (const std::string& name : request.message.query().parameters()) {
    std::optional<std::string> value = request.message.query().get(name);
    if (value) (void)api::PercentDecode(*value);
  }
  api::Router::Match match = Routes().Find(request.method(), request.path);
  for (std::size_t i = 0; i < match.params.size(); ++i) {
    Check(!match.params.name(i).empty(), "unnamed route parameter");
    Check(!match.params.value(i, request.path).empty(), "empty route parameter");
  }
}

// Read frames `stream` delivered `chunk` bytes at a time (0: all at once)
// and returns every decision; the connection ends at the first error.
std::vector<Event> Read(std::string_view stream, std::size_t chunk, const RequestLimits& limits) {
  RequestReader reader(limits);
  std::vector<Event> events;
  std::string buffered;
  std::size_t delivered = 0;
  while (true) {
    std::size_t n = chunk == 0 ? stream.size() - delivered
                               : std::min(chunk, stream.size() - delivered);
    buffered.append(stream.substr(delivered, n));
    delivered += n;
    while (!buffered.empty()) {
      RequestReader::Result result = reader.Next(buffered);
      if (result.outcome == RequestReader::Outcome::kNeedMore) break;
      events.push_back({result.outcome, result.consumed, result.status});
      if (result.outcome == RequestReader::Outcome::kError) {
        Check(result.status >= 400 && result.status <= 505, "error outside 4xx/5xx");
        Check(!result.message.empty(), "error without a message");
        return events;
      }
      Check(result.consumed > 0 && result.consumed <= buffered.size(),
            "a complete request consumed no bytes or more than were buffered");
      buffered.erase(0, result.consumed);
      UseRequest(result.request);
    }
    if (delivered == stream.size()) return events;
  }
}

}  // namespace
}  // namespace strongroom::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom::fuzz;
  std::string_view stream = AsText(data, size);
  strongroom::api::RequestLimits defaults;
  std::vector<Event> whole = Read(stream, 0, defaults);
  std::vector<Event> chunked = Read(stream, 1 + size % 7, defaults);
  Check(whole == chunked, "framing depends on how the stream was cut");
  strongroom::api::RequestLimits tiny;
  tiny.max_header_bytes = 200;
  tiny.max_header_count = 6;
  tiny.max_body_bytes = 64;
  (void)Read(stream, 1 + size % 5, tiny);
  return 0;
}

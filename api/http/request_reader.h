// api/http/request_reader.h — frames HTTP/1.1 requests out of a connection's
// decrypted byte stream and parses them with Pistache's request parser.
//
// Framing is Strongroom's (so pipelined requests are never lost and limits
// are checked before bytes are buffered): the header block ends at the
// first CRLF CRLF; a body needs Content-Length. The header block is checked
// for request-smuggling shapes first (duplicate Content-Length, Content-Length
// with Transfer-Encoding, obs-fold, bare CR/LF, control characters, malformed
// names). The request line and the body go through Pistache's own parser
// steps, reading the connection's bytes in place; the checked header fields
// are added to the request as raw headers (typed only Connection and
// Content-Length), with Cookie in its cookie jar (issue 19: Pistache's
// parser copied the bytes into a buffer it regrew from nothing for every
// request, and built a typed object for every known header).
//
// Thread-safety: one reader per connection, used by its I/O thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/http/pistache.h"

namespace strongroom::api {

struct RequestLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers (431 beyond)
  std::size_t max_header_count = 100;        // 431 beyond
  std::size_t max_body_bytes = 160 * 1024;   // 413 beyond
};

class RequestReader {
 public:
  explicit RequestReader(const RequestLimits& limits);

  enum class Outcome { kNeedMore, kComplete, kError };
  struct Result {
    Outcome outcome = Outcome::kNeedMore;
    std::size_t consumed = 0;         // kComplete: bytes of `buffered` this request used
    int status = 0;                   // kError: 400, 411, 413, 431, 505 ...
    std::string message;              // kError: safe to show (never echoes header values)
    std::string path;                 // kError: the request's path once its header block parsed
    Pistache::Http::Request request;  // kComplete
  };

  // Next looks at the bytes buffered so far (starting at a request
  // boundary). kNeedMore: call again with more bytes. kComplete: a request,
  // and how many bytes it used; the reader is ready for the next one.
  // kError: the connection must answer `status` and close.
  Result Next(std::string_view buffered);

  // started: some bytes of a request were seen (the header/body deadlines
  // apply rather than the idle timeout).
  bool in_body() const { return header_length_ != 0; }

 private:
  Result Fail(int status, std::string message);
  // ReadHeaderBlock looks for, checks and parses the header block: a
  // Result to return (kNeedMore or kError), or nullopt once request_ holds
  // the request line and headers and the lengths are set.
  std::optional<Result> ReadHeaderBlock(std::string_view buffered);

  RequestLimits limits_;
  Pistache::Http::Request request_;  // the request being read
  std::size_t header_length_ = 0;  // 0 until the header block is parsed
  std::size_t body_length_ = 0;
  std::string path_;  // of the request being read, once its header block parsed
};

}  // namespace strongroom::api

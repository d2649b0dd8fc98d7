#include "api/http/request_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace strongroom::api {
namespace {

constexpr std::string_view kEndOfHeaders = "\r\n\r\n";

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct HeaderCheck {
  int status = 0;  // 0: fine
  std::string message;
  std::size_t header_count = 0;
  bool has_content_length = false;
  std::uint64_t content_length = 0;  // when has_content_length
  bool has_transfer_encoding = false;
  bool has_host = false;
};

// CheckHeaderBlock validates the header lines (everything after the request
// line, without the final CRLF CRLF).
HeaderCheck CheckHeaderBlock(std::string_view block, const RequestLimits& limits) {
  HeaderCheck check;
  std::size_t line_end = block.find("\r\n");
  std::string_view request_line = block.substr(0, line_end);
  for (char c : request_line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      check.status = 400;
      check.message = "control character in the request line";
      return check;
    }
  }
  std::size_t pos = line_end == std::string_view::npos ? block.size() : line_end + 2;
  while (pos < block.size()) {
    std::size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    if (++check.header_count > limits.max_header_count) {
      check.status = 431;
      check.message = "too many header fields";
      return check;
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      check.status = 400;
      check.message = "malformed header field (obsolete line folding is not accepted)";
      return check;
    }
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      check.status = 400;
      check.message = "malformed header field name";
      return check;
    }
    for (char c : line.substr(colon + 1)) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        check.status = 400;
        check.message = "control character in a header field value";
        return check;
      }
    }
    if (EqualsIgnoreCase(name, "content-length")) {
      if (check.has_content_length) {
        check.status = 400;
        check.message = "more than one Content-Length header";
        return check;
      }
      check.has_content_length = true;
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (value.empty() || value.size() > 15 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        check.status = 400;
        check.message = "Content-Length must be a decimal number";
        return check;
      }
      for (char c : value) check.content_length = check.content_length * 10 + (c - '0');
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      check.has_transfer_encoding = true;
    } else if (EqualsIgnoreCase(name, "host")) {
      check.has_host = true;
    }
  }
  if (check.has_transfer_encoding) {
    check.status = check.has_content_length ? 400 : 411;
    check.message = check.has_content_length
                        ? "Content-Length and Transfer-Encoding together are refused"
                        : "request bodies need Content-Length (Transfer-Encoding is not accepted)";
  }
  return check;
}

}  // namespace

RequestReader::RequestReader(const RequestLimits& limits)
    : limits_(limits),
      parser_(std::make_unique<Pistache::Http::RequestParser>(limits.max_header_bytes +
                                                              limits.max_body_bytes + 64)) {}

RequestReader::Result RequestReader::Fail(int status, std::string message) {
  parser_->reset();
  header_length_ = body_length_ = 0;
  Result result;
  result.outcome = Outcome::kError;
  result.status = status;
  result.message = std::move(message);
  result.path = std::move(path_);
  path_.clear();
  return result;
}

RequestReader::Result RequestReader::Next(std::string_view buffered) {
  using Pistache::Http::Private::State;
  try {
    if (header_length_ == 0) {
      std::size_t end = buffered.substr(0, limits_.max_header_bytes).find(kEndOfHeaders);
      if (end == std::string_view::npos) {
        if (buffered.size() >= limits_.max_header_bytes) {
          return Fail(431, "request header block too large");
        }
        return Result{};
      }
      HeaderCheck check = CheckHeaderBlock(buffered.substr(0, end), limits_);
      if (check.status != 0) return Fail(check.status, std::move(check.message));
      std::size_t header_length = end + kEndOfHeaders.size();
      parser_->reset();
      if (check.content_length > limits_.max_body_bytes) {
        // Pistache's parser reserves the whole announced body as soon as
        // it reads the header block (a 100 GB reservation for
        // "Content-Length: 99999999999", found by fuzz/http_request_reader):
        // an oversized body is refused before it sees the headers. Only the
        // request line is parsed, for the path and the version.
        std::string_view block = buffered.substr(0, end);
        std::string request_line(block.substr(0, block.find("\r\n")));
        request_line += kEndOfHeaders;
        if (!parser_->feed(request_line.data(), request_line.size())) {
          return Fail(431, "request too large");
        }
        (void)parser_->parse();
        const Pistache::Http::Request& request = parser_->request;
        path_ = request.resource();
        if (request.version() == Pistache::Http::Version::Http11 && !check.has_host) {
          return Fail(400, "HTTP/1.1 request without a Host header");
        }
        return Fail(
            413, "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
      }
      if (!parser_->feed(buffered.data(), header_length)) return Fail(431, "request too large");
      State state = parser_->parse();
      const Pistache::Http::Request& request = parser_->request;
      path_ = request.resource();
      if (request.version() == Pistache::Http::Version::Http11 && !check.has_host) {
        return Fail(400, "HTTP/1.1 request without a Host header");
      }
      std::size_t body_length = 0;
      if (auto length = request.headers().tryGet<Pistache::Http::Header::ContentLength>()) {
        body_length = length->value();
      }
      if (body_length > limits_.max_body_bytes) {
        return Fail(
            413, "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
      }
      if (state == State::Done && body_length != 0) return Fail(400, "malformed request");
      header_length_ = header_length;
      body_length_ = body_length;
      if (state != State::Done && body_length == 0) return Fail(400, "malformed request");
    }
    if (buffered.size() < header_length_ + body_length_) return Result{};
    if (body_length_ != 0) {
      if (!parser_->feed(buffered.data() + header_length_, body_length_)) {
        return Fail(413, "request too large");
      }
      if (parser_->parse() != State::Done) return Fail(400, "malformed request body framing");
    }
    Result result;
    result.outcome = Outcome::kComplete;
    result.consumed = header_length_ + body_length_;
    result.request = std::move(parser_->request);
    parser_->reset();
    path_.clear();
    header_length_ = body_length_ = 0;
    return result;
  } catch (const std::exception&) {
    // Pistache raises HttpError for a malformed request line or header
    // value, and std::invalid_argument/out_of_range from number parsing.
    return Fail(400, "malformed request");
  }
}

}  // namespace strongroom::api

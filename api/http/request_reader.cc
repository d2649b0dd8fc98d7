#include "api/http/request_reader.h"

#include <algorithm>
#include <cstdint>

#include "api/http/http_message.h"

namespace strongroom::api {
namespace {

constexpr std::string_view kEndOfHeaders = "\r\n\r\n";

bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// AsciiLower lowers A-Z only (field names are ASCII tokens; std::tolower
// would consult the locale for every byte).
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// EqualsIgnoreCase compares `name` with `lower`, which is lower-case.
bool EqualsIgnoreCase(std::string_view name, std::string_view lower) {
  return name.size() == lower.size() &&
         std::equal(name.begin(), name.end(), lower.begin(),
                    [](char x, char y) { return AsciiLower(x) == y; });
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

// Refuse records why the header block is refused, and returns false.
bool Refuse(HeaderCheck& check, int status, std::string_view message) {
  check.status = status;
  check.message = message;
  return false;
}

// CheckContentLength reads a Content-Length field's value into `check`:
// one field, a decimal number of at most 15 digits.
bool CheckContentLength(std::string_view value, HeaderCheck& check) {
  if (check.has_content_length) return Refuse(check, 400, "more than one Content-Length header");
  check.has_content_length = true;
  value = TrimOws(value);
  if (value.empty() || value.size() > 15 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Refuse(check, 400, "Content-Length must be a decimal number");
  }
  for (char c : value) check.content_length = check.content_length * 10 + (c - '0');
  return true;
}

// CheckField checks one header line (without its CRLF) and notes the
// fields the front reads itself.
bool CheckField(std::string_view line, HeaderCheck& check) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') {
    return Refuse(check, 400, "malformed header field (obsolete line folding is not accepted)");
  }
  std::size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  if (colon == std::string_view::npos || name.empty() ||
      !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return Refuse(check, 400, "malformed header field name");
  }
  std::string_view value = line.substr(colon + 1);
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Refuse(check, 400, "control character in a header field value");
    }
  }
  if (EqualsIgnoreCase(name, "content-length")) return CheckContentLength(value, check);
  if (EqualsIgnoreCase(name, "transfer-encoding")) {
    check.has_transfer_encoding = true;
  } else if (EqualsIgnoreCase(name, "host")) {
    check.has_host = true;
  }
  return true;
}

// CheckHeaderBlock validates the header lines (everything after the request
// line, without the final CRLF CRLF).
HeaderCheck CheckHeaderBlock(std::string_view block, const RequestLimits& limits) {
  HeaderCheck check;
  std::size_t line_end = block.find("\r\n");
  std::string_view request_line = block.substr(0, line_end);
  for (char c : request_line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      Refuse(check, 400, "control character in the request line");
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
      Refuse(check, 431, "too many header fields");
      return check;
    }
    if (!CheckField(line, check)) return check;
  }
  if (check.has_transfer_encoding) {
    Refuse(check, check.has_content_length ? 400 : 411,
           check.has_content_length
               ? "Content-Length and Transfer-Encoding together are refused"
               : "request bodies need Content-Length (Transfer-Encoding is not accepted)");
  }
  return check;
}

// Pistache's parser steps read the bytes through a stream buffer; this one
// views bytes the connection already holds, so nothing is copied (the
// parser's own buffer is regrown byte by byte after every reset: 8
// allocations for a 100-byte request). The steps only read: the
// const_cast never leads to a write.
class ViewBuffer : public Pistache::RawStreamBuf<char> {
 public:
  explicit ViewBuffer(std::string_view bytes)
      : RawStreamBuf(const_cast<char*>(bytes.data()), bytes.size()) {}
};

// ParseRequestLine fills `request`'s method, resource, query and version
// from `line` (the request line with its CRLF) with Pistache's own step.
// False when the line is incomplete in itself (no version); Pistache
// raises HttpError for an unknown method or version.
bool ParseRequestLine(std::string_view line, Pistache::Http::Request& request) {
  ViewBuffer view(line);
  Pistache::StreamCursor cursor(&view);
  Pistache::Http::Private::RequestLineStep step(&request);
  return step.apply(cursor) == Pistache::Http::Private::State::Next;
}

// AddHeaders adds the header lines of `fields` (validated by
// CheckHeaderBlock, separated by CRLF) to `request` as Pistache's
// HeadersStep does — every field as a raw header (the first of a name
// wins), Cookie into the cookie jar — but builds the typed form only of the
// two the front reads typed (Connection, Content-Length): Pistache's typed
// parse of every registered header (Host, Accept, User-Agent ...) cost
// three allocations each and nothing reads them. The value starts after
// the spaces that follow the colon, as in Pistache.
void AddHeaders(std::string_view fields, Pistache::Http::Request& request) {
  namespace Header = Pistache::Http::Header;
  Header::Collection& headers = request.headers();
  std::size_t pos = 0;
  while (pos < fields.size()) {
    std::size_t end = fields.find("\r\n", pos);
    if (end == std::string_view::npos) end = fields.size();
    const std::string_view line = fields.substr(pos, end - pos);
    pos = end + 2;
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (EqualsIgnoreCase(name, "cookie")) {
      request.cookies().removeAllCookies();
      request.cookies().addFromRaw(value.data(), value.size());
    } else if (EqualsIgnoreCase(name, "set-cookie")) {
      request.cookies().add(Pistache::Http::Cookie::fromRaw(value.data(), value.size()));
    } else if (EqualsIgnoreCase(name, "connection")) {
      auto typed = std::make_shared<Header::Connection>();
      typed->parseRaw(value.data(), value.size());
      headers.add(typed);
    } else if (EqualsIgnoreCase(name, "content-length")) {
      auto typed = std::make_shared<Header::ContentLength>();
      typed->parseRaw(value.data(), value.size());
      headers.add(typed);
    }
    headers.addRaw(Header::Raw(std::string(name), std::string(value)));
  }
}

// ReadBody appends `body` (exactly Content-Length bytes) to `request`
// with Pistache's body step, which reads the length from the typed header.
bool ReadBody(std::string_view body, Pistache::Http::Request& request) {
  ViewBuffer view(body);
  Pistache::StreamCursor cursor(&view);
  Pistache::Http::Private::BodyStep step(&request);
  return step.apply(cursor) == Pistache::Http::Private::State::Done;
}

}  // namespace

RequestReader::RequestReader(const RequestLimits& limits) : limits_(limits) {}

RequestReader::Result RequestReader::Fail(int status, std::string message) {
  request_ = Pistache::Http::Request();
  header_length_ = body_length_ = 0;
  Result result;
  result.outcome = Outcome::kError;
  result.status = status;
  result.message = std::move(message);
  result.path = std::move(path_);
  path_.clear();
  return result;
}

std::optional<RequestReader::Result> RequestReader::ReadHeaderBlock(std::string_view buffered) {
  std::size_t end = buffered.substr(0, limits_.max_header_bytes).find(kEndOfHeaders);
  if (end == std::string_view::npos) {
    if (buffered.size() >= limits_.max_header_bytes) {
      return Fail(431, "request header block too large");
    }
    return Result{};
  }
  const std::string_view block = buffered.substr(0, end);
  HeaderCheck check = CheckHeaderBlock(block, limits_);
  if (check.status != 0) return Fail(check.status, std::move(check.message));
  // The request line with its CRLF (the block ends before the last line's),
  // then the header fields.
  const std::size_t line_end = std::min(block.find("\r\n"), block.size());
  request_ = Pistache::Http::Request();
  if (!ParseRequestLine(buffered.substr(0, line_end + 2), request_)) {
    return Fail(400, "malformed request");
  }
  path_ = request_.resource();
  if (request_.version() == Pistache::Http::Version::Http11 && !check.has_host) {
    return Fail(400, "HTTP/1.1 request without a Host header");
  }
  // Refused before anything is reserved for it (Pistache's body step
  // reserves the whole announced body: a 100 GB reservation for
  // "Content-Length: 99999999999", found by fuzz/http_request_reader).
  if (check.content_length > limits_.max_body_bytes) {
    return Fail(413,
                "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  if (line_end < block.size()) AddHeaders(block.substr(line_end + 2), request_);
  header_length_ = end + kEndOfHeaders.size();
  body_length_ = check.content_length;
  return std::nullopt;
}

RequestReader::Result RequestReader::Next(std::string_view buffered) {
  try {
    if (header_length_ == 0) {
      if (std::optional<Result> early = ReadHeaderBlock(buffered)) return std::move(*early);
    }
    if (buffered.size() < header_length_ + body_length_) return Result{};
    if (body_length_ != 0 && !ReadBody(buffered.substr(header_length_, body_length_), request_)) {
      return Fail(400, "malformed request body framing");
    }
    Result result;
    result.outcome = Outcome::kComplete;
    result.consumed = header_length_ + body_length_;
    result.request = std::move(request_);
    request_ = Pistache::Http::Request();
    path_.clear();
    header_length_ = body_length_ = 0;
    return result;
  } catch (const std::exception&) {
    // Pistache raises HttpError for a malformed request line, and
    // std::invalid_argument/out_of_range from number parsing.
    return Fail(400, "malformed request");
  }
}

}  // namespace strongroom::api

#include "cluster/etcd_http.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace strongroom::cluster {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// An answer larger than this is refused rather than buffered (a range over
// the whole store pages with `limit` long before this).
constexpr std::size_t kMaxAnswerBytes = 256u << 20;
// How long a read waits before another round over the members when every
// member answered "unavailable" (an election usually ends within a second).
constexpr milliseconds kRoundPause{100};
constexpr std::size_t kMaxIdleHandles = 16;

// SafeText keeps printable ASCII and at most 200 characters of etcd's
// message, so an answer cannot forge log lines or flood an error.
std::string SafeText(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

std::size_t AppendAnswer(char* data, std::size_t size, std::size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const std::size_t bytes = size * count;
  if (answer->size() + bytes > kMaxAnswerBytes) return 0;  // aborts the transfer
  answer->append(data, bytes);
  return bytes;
}

Status InitCurlOnce() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(code));
  }
  return Status::Ok();
}

}  // namespace

Status GrpcStatus(int grpc_code, std::string_view message, const std::string& endpoint) {
  std::string text = "etcd at " + endpoint + ": " + SafeText(message);
  switch (grpc_code) {
    case 3:  // INVALID_ARGUMENT
      return Status::InvalidArgument(std::move(text));
    case 5:  // NOT_FOUND (an unknown lease)
      return Status::NotFound(std::move(text));
    case 11:  // OUT_OF_RANGE (a compacted or future revision)
      return Status::OutOfRange(std::move(text));
    case 4:   // DEADLINE_EXCEEDED
    case 10:  // ABORTED
    case 14:  // UNAVAILABLE (no leader, leader changed, stopping)
      return Status::Unavailable(std::move(text));
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return Status::PermissionDenied(std::move(text));
    case 8:  // RESOURCE_EXHAUSTED (quota, too many requests, request too large)
      return Status::ResourceExhausted(std::move(text));
    case 9:  // FAILED_PRECONDITION
      return Status::FailedPrecondition(std::move(text));
    default:
      return Status::Internal(std::move(text));
  }
}

Status ErrorFromAnswer(long http_status, const std::string& body, const std::string& endpoint) {
  nlohmann::json answer = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_object()) {
    // A stream wraps its error: {"error": {"grpc_code": .., "message": ..}}.
    const nlohmann::json& error =
        answer.contains("error") && answer["error"].is_object() ? answer["error"] : answer;
    int code = -1;
    if (error.contains("code") && error["code"].is_number_integer()) {
      code = error["code"].get<int>();
    }
    if (error.contains("grpc_code") && error["grpc_code"].is_number_integer()) {
      code = error["grpc_code"].get<int>();
    }
    std::string message;
    if (error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    }
    if (code >= 0) return GrpcStatus(code, message, endpoint);
  }
  const std::string text = "etcd at " + endpoint + " answered HTTP " + std::to_string(http_status);
  if (http_status == 503 || http_status == 504 || http_status == 502) {
    return Status::Unavailable(text);
  }
  if (http_status == 404 || http_status == 400) return Status::InvalidArgument(text);
  return Status::Internal(text);
}

struct EtcdHttp::Attempt {
  Status status;        // OK: `answer` is the 200 body
  std::string answer;
  bool sent = false;    // the request left this process
  bool answered = false;  // the member answered (an HTTP status came back)
};

EtcdHttp::EtcdHttp(const EtcdClientOptions& options) : options_(options) {}

EtcdHttp::~EtcdHttp() {
  pool_.clear();
  curl_slist_free_all(headers_);
}

StatusOr<std::unique_ptr<EtcdHttp>> EtcdHttp::Create(const EtcdClientOptions& options) {
  SR_RETURN_IF_ERROR(InitCurlOnce());
  if (options.endpoints.empty()) return std::unexpected(Status::InvalidArgument("no etcd endpoint"));
  for (const std::string& endpoint : options.endpoints) {
    if (!endpoint.starts_with("https://")) {
      return std::unexpected(
          Status::InvalidArgument("etcd endpoint '" + SafeText(endpoint) + "' is not https://"));
    }
  }
  if (options.call_timeout <= milliseconds(0) || options.connect_timeout <= milliseconds(0)) {
    return std::unexpected(Status::InvalidArgument("etcd timeouts must be positive"));
  }
  std::unique_ptr<EtcdHttp> http(new EtcdHttp(options));
  // "Expect:" drops curl's 100-continue round trip. The gRPC metadata
  // hasleader=true (rpctypes.MetadataRequireLeaderKey) makes a member without
  // a leader refuse at once ("no leader", unavailable) instead of holding the
  // call until its own timeout: calls fail fast during an election.
  for (const char* line :
       {"Content-Type: application/json", "Expect:", "Grpc-Metadata-hasleader: true"}) {
    curl_slist* longer = curl_slist_append(http->headers_, line);
    if (longer == nullptr) return std::unexpected(Status::Internal("curl_slist_append failed"));
    http->headers_ = longer;
  }
  // Fail at Create, not on the first call, when a TLS file is unreadable.
  for (const std::string* file :
       {&options.tls.ca_file, &options.tls.cert_file, &options.tls.key_file}) {
    if (std::FILE* f = std::fopen(file->c_str(), "r")) {
      std::fclose(f);
    } else {
      return std::unexpected(
          Status::InvalidArgument("etcd TLS file '" + SafeText(*file) + "' cannot be read"));
    }
  }
  return http;
}

StatusOr<CurlEasyPtr> EtcdHttp::NewHandle() const {
  CurlEasyPtr handle(curl_easy_init());
  if (handle == nullptr) return std::unexpected(Status::Internal("curl_easy_init failed"));
  CURL* h = handle.get();
  bool ok = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_CAINFO, options_.tls.ca_file.c_str()) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_SSLCERT, options_.tls.cert_file.c_str()) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_SSLKEY, options_.tls.key_file.c_str()) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
            // HTTP/1.1, the gateway's documented shape (etcd would also take
            // h2 through ALPN); one call per connection, connections pooled.
            curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_) == CURLE_OK;
  if (!ok) return std::unexpected(Status::Internal("curl_easy_setopt refused an option"));
  return handle;
}

StatusOr<CurlEasyPtr> EtcdHttp::Borrow() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      CurlEasyPtr handle = std::move(pool_.back());
      pool_.pop_back();
      return handle;
    }
  }
  return NewHandle();
}

void EtcdHttp::Return(CurlEasyPtr handle) {
  std::lock_guard lock(pool_mutex_);
  if (pool_.size() < kMaxIdleHandles) pool_.push_back(std::move(handle));
}

EtcdHttp::Attempt EtcdHttp::PostOnce(CURL* handle, const std::string& endpoint,
                                     std::string_view path, const std::string& body,
                                     milliseconds remaining) {
  Attempt attempt;
  const std::string url = endpoint + std::string(path);
  const long total_ms = std::max<long>(1, remaining.count());
  const long connect_ms = std::min<long>(total_ms, options_.connect_timeout.count());
  bool ok = curl_easy_setopt(handle, CURLOPT_URL, url.c_str()) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data()) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(body.size())) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, total_ms) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendAnswer) == CURLE_OK &&
            curl_easy_setopt(handle, CURLOPT_WRITEDATA, &attempt.answer) == CURLE_OK;
  if (!ok) {
    attempt.status = Status::Internal("curl_easy_setopt refused an option");
    return attempt;
  }
  const CURLcode code = curl_easy_perform(handle);
  long request_bytes = 0;
  curl_easy_getinfo(handle, CURLINFO_REQUEST_SIZE, &request_bytes);
  attempt.sent = request_bytes > 0;
  if (code != CURLE_OK) {
    std::string what = code == CURLE_OPERATION_TIMEDOUT
                           ? "no answer within " + std::to_string(total_ms) + " ms"
                           : std::string(curl_easy_strerror(code));
    if (attempt.sent) what += " (the request was sent: its outcome is unknown)";
    attempt.status = Status::Unavailable("etcd at " + endpoint + ": " + what);
    return attempt;
  }
  long http_status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http_status);
  attempt.answered = true;
  if (http_status != 200) attempt.status = ErrorFromAnswer(http_status, attempt.answer, endpoint);
  return attempt;
}

StatusOr<std::string> EtcdHttp::Post(std::string_view path, const std::string& body,
                                     Resend resend) {
  const Clock::time_point deadline = Clock::now() + options_.call_timeout;
  SR_ASSIGN_OR_RETURN(CurlEasyPtr handle, Borrow());
  const std::size_t members = options_.endpoints.size();
  const std::size_t first = preferred_.load(std::memory_order_relaxed) % members;
  Status last = Status::Unavailable("no etcd member was tried");
  bool any_answered_in_round = false;
  for (std::size_t attempt_number = 0;; ++attempt_number) {
    if (attempt_number > 0 && attempt_number % members == 0) {
      // A whole round failed. When no member even answered, the cluster is
      // down: say so now instead of spinning until the deadline.
      if (!any_answered_in_round) break;
      any_answered_in_round = false;
      const auto pause = std::min<Clock::duration>(kRoundPause, deadline - Clock::now());
      if (pause > Clock::duration::zero()) std::this_thread::sleep_for(pause);
    }
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining <= milliseconds(0)) break;
    const std::size_t index = (first + attempt_number) % members;
    Attempt attempt = PostOnce(handle.get(), options_.endpoints[index], path, body, remaining);
    if (attempt.status.ok()) {
      preferred_.store(index, std::memory_order_relaxed);
      Return(std::move(handle));
      return std::move(attempt.answer);
    }
    any_answered_in_round = any_answered_in_round || attempt.answered;
    last = attempt.status;
    const bool unavailable = last.code() == StatusCode::kUnavailable;
    const bool may_resend = unavailable && (resend == Resend::kAlways || !attempt.sent);
    if (!may_resend) {
      if (attempt.answered) Return(std::move(handle));
      if (unavailable && resend == Resend::kIfNotSent) {
        // A write that left this process and got no answer, or an answer
        // saying etcd may still apply it (timeout, leader changed): it may
        // or may not have been applied (etcd_client.h, "Errors").
        return std::unexpected(Status::OutcomeUnknown(last.message()));
      }
      return std::unexpected(last);
    }
  }
  // For a write (Resend::kIfNotSent) this point means no attempt left the
  // process: every answered or sent failure returned above.
  return std::unexpected(Status::Unavailable(
      "no etcd member served the call (budget " + std::to_string(options_.call_timeout.count()) +
      " ms); last: " + last.message()));
}

StatusOr<std::string> EtcdHttp::PostTo(const std::string& endpoint, std::string_view path,
                                       const std::string& body) {
  SR_ASSIGN_OR_RETURN(CurlEasyPtr handle, Borrow());
  Attempt attempt = PostOnce(handle.get(), endpoint, path, body, options_.call_timeout);
  if (attempt.answered) Return(std::move(handle));
  if (!attempt.status.ok()) return std::unexpected(attempt.status);
  return std::move(attempt.answer);
}

}  // namespace strongroom::cluster

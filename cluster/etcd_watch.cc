#include "cluster/etcd_watch.h"

#include <algorithm>
#include <stdexcept>

#include "cluster/etcd_http.h"
#include "cluster/etcd_json.h"

namespace strongroom::cluster {

using json_wire::Json;

namespace {
// A watch answer (one line) larger than this ends the stream with an error.
constexpr std::size_t kMaxLineBytes = 64u << 20;
constexpr std::size_t kMaxErrorBodyBytes = 64u << 10;
// How long curl_multi_poll sleeps at most before the loop looks at stopping_
// again (Stop() also wakes it at once).
constexpr int kPollMilliseconds = 1000;

struct CurlMultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;

}  // namespace

// WatchStream is one POST /v3/watch: it opens, reads lines and hands the
// notices to its EtcdWatch until the stream ends or the watch stops.
class WatchStream {
 public:
  WatchStream(EtcdWatch& watch, CurlEasyPtr handle, std::string endpoint)
      : watch_(watch), handle_(std::move(handle)), endpoint_(std::move(endpoint)),
        multi_(curl_multi_init()) {}
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Run opens the watch from `start_revision` and reads it until it ends;
  // returns why it ended.
  Status Run(std::int64_t start_revision);
  // Wake interrupts the wait for data (Stop()). Any thread.
  void Wake() {
    if (multi_ != nullptr) curl_multi_wakeup(multi_.get());
  }
  bool compacted() const { return compacted_; }

 private:
  static std::size_t OnBytes(char* data, std::size_t size, std::size_t count, void* user) {
    return static_cast<WatchStream*>(user)->Consume(data, size * count);
  }
  std::size_t Consume(const char* data, std::size_t bytes);
  // HandleLine delivers one answer; false ends the stream (error_ says why).
  bool HandleLine(std::string_view line);
  bool Stopping() const {
    std::lock_guard lock(watch_.mutex_);
    return watch_.stopping_;
  }

  EtcdWatch& watch_;
  CurlEasyPtr handle_;
  std::string endpoint_;
  CurlMultiPtr multi_;
  long http_status_ = 0;
  std::string buffer_;      // bytes of the line being received
  std::string error_body_;  // the body of a non-200 answer
  Status error_;            // set when a line ended the stream
  bool compacted_ = false;
};

Status WatchStream::Run(std::int64_t start_revision) {
  if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");

  Json create = {{"key", json_wire::Base64Encode(watch_.watch_.key)}};
  if (!watch_.watch_.range_end.empty()) {
    create["range_end"] = json_wire::Base64Encode(watch_.watch_.range_end);
  }
  if (start_revision != 0) create["start_revision"] = std::to_string(start_revision);
  const std::string body = Json{{"create_request", create}}.dump();
  const std::string url = endpoint_ + "/v3/watch";
  CURL* h = handle_.get();
  const long connect_ms = watch_.http_->options().connect_timeout.count();
  bool ok = curl_easy_setopt(h, CURLOPT_URL, url.c_str()) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data()) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(body.size())) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L) == CURLE_OK &&  // a stream: no end
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WatchStream::OnBytes) == CURLE_OK &&
            curl_easy_setopt(h, CURLOPT_WRITEDATA, this) == CURLE_OK;
  if (!ok) return Status::Internal("curl_easy_setopt refused an option");
  if (curl_multi_add_handle(multi_.get(), h) != CURLM_OK) {
    return Status::Internal("curl_multi_add_handle failed");
  }

  Status multi_error;
  int running = 1;
  while (!Stopping()) {
    if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) {
      multi_error = Status::Internal("curl_multi_perform failed");
      break;
    }
    if (running == 0) break;
    if (curl_multi_poll(multi_.get(), nullptr, 0, kPollMilliseconds, nullptr) != CURLM_OK) {
      multi_error = Status::Internal("curl_multi_poll failed");
      break;
    }
  }
  CURLcode result = CURLE_OK;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
    if (message->msg == CURLMSG_DONE) result = message->data.result;
  }
  curl_multi_remove_handle(multi_.get(), h);

  if (!error_.ok()) return error_;
  if (!multi_error.ok()) return multi_error;
  if (http_status_ != 0 && http_status_ != 200) {
    return ErrorFromAnswer(http_status_, error_body_, endpoint_);
  }
  if (running != 0) return Status::Unavailable("the watch was stopped");
  if (result != CURLE_OK) {
    return Status::Unavailable("watch stream from etcd at " + endpoint_ + ": " +
                               curl_easy_strerror(result));
  }
  return Status::Unavailable("etcd at " + endpoint_ + " ended the watch stream");
}

std::size_t WatchStream::Consume(const char* data, std::size_t bytes) {
  if (http_status_ == 0) curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &http_status_);
  if (http_status_ != 200) {
    error_body_.append(data, std::min(bytes, kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes,
                                                                           error_body_.size())));
    return bytes;
  }
  std::string_view input(data, bytes);
  while (!input.empty()) {
    const std::size_t newline = input.find('\n');
    if (newline == std::string_view::npos) {
      if (buffer_.size() + input.size() > kMaxLineBytes) {
        error_ = Status::ResourceExhausted("a watch answer from etcd at " + endpoint_ +
                                           " is larger than the limit");
        return 0;
      }
      buffer_.append(input);
      return bytes;
    }
    buffer_.append(input.substr(0, newline));
    input.remove_prefix(newline + 1);
    const std::string line = std::move(buffer_);
    buffer_.clear();
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    if (!HandleLine(line)) return 0;  // ends the transfer
  }
  return bytes;
}

bool WatchStream::HandleLine(std::string_view line) {
  try {
    const Json answer = Json::parse(line);
    if (answer.contains("error")) {
      error_ = ErrorFromAnswer(200, std::string(line), endpoint_);
      return false;
    }
    const Json& result = answer.at("result");
    const std::int64_t compact_revision = json_wire::Int64Field(result, "compact_revision");
    if (compact_revision > 0) {
      compacted_ = true;
      error_ = Status::OutOfRange("etcd has compacted the watched revisions up to " +
                                  std::to_string(compact_revision));
      watch_.Deliver(WatchNotice{.kind = WatchNotice::Kind::kCompacted,
                                 .revision = compact_revision});
      return false;
    }
    if (result.value("canceled", false)) {
      error_ = Status::Unavailable("etcd at " + endpoint_ + " cancelled the watch: " +
                                   result.value("cancel_reason", std::string("no reason")));
      return false;
    }
    const ResponseHeader header = json_wire::DecodeHeader(result);
    if (result.value("created", false)) {
      std::int64_t next;
      {
        std::lock_guard lock(watch_.mutex_);
        // From "now": later reconnects resume after the revision the watch
        // was created at, so nothing between two streams is missed.
        if (watch_.next_revision_ == 0) watch_.next_revision_ = header.revision + 1;
        next = watch_.next_revision_;
      }
      watch_.Deliver(WatchNotice{.kind = WatchNotice::Kind::kConnected, .revision = next});
    }
    WatchNotice notice{.kind = WatchNotice::Kind::kEvents, .revision = header.revision};
    if (auto events = result.find("events"); events != result.end()) {
      std::lock_guard lock(watch_.mutex_);
      // Never deliver a revision twice, even if a member resent it; but
      // every event of one revision (a transaction's several keys) is
      // delivered, so the floor is fixed before this answer's events.
      const std::int64_t floor = watch_.next_revision_;
      for (const Json& event : *events) {
        WatchEvent decoded = json_wire::DecodeWatchEvent(event);
        if (decoded.kv.mod_revision < floor) continue;
        watch_.next_revision_ = std::max(watch_.next_revision_, decoded.kv.mod_revision + 1);
        notice.events.push_back(std::move(decoded));
      }
    }
    if (!notice.events.empty()) watch_.Deliver(notice);
    return true;
  } catch (const std::exception& e) {
    error_ = Status::Internal("a watch answer from etcd at " + endpoint_ + " is malformed: " +
                              e.what());
    return false;
  }
}

EtcdWatch::EtcdWatch(std::unique_ptr<EtcdHttp> http, WatchOptions watch, Handler handler)
    : http_(std::move(http)), watch_(std::move(watch)), handler_(std::move(handler)),
      next_revision_(watch_.start_revision) {}

StatusOr<std::unique_ptr<EtcdWatch>> EtcdWatch::Start(const EtcdClientOptions& client,
                                                      WatchOptions watch, Handler handler) {
  if (!handler) return std::unexpected(Status::InvalidArgument("a watch needs a handler"));
  if (watch.start_revision < 0) {
    return std::unexpected(Status::InvalidArgument("a watch's start revision is negative"));
  }
  SR_ASSIGN_OR_RETURN(std::unique_ptr<EtcdHttp> http, EtcdHttp::Create(client));
  std::unique_ptr<EtcdWatch> created(
      new EtcdWatch(std::move(http), std::move(watch), std::move(handler)));
  created->thread_ = std::thread([w = created.get()] { w->Run(); });
  return created;
}

EtcdWatch::~EtcdWatch() { Stop(); }

void EtcdWatch::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (stream_ != nullptr) stream_->Wake();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t EtcdWatch::next_revision() const {
  std::lock_guard lock(mutex_);
  return next_revision_;
}

bool EtcdWatch::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

void EtcdWatch::Run() {
  const std::vector<std::string>& endpoints = http_->options().endpoints;
  std::size_t index = 0;
  for (;;) {
    std::int64_t start;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      start = next_revision_;
    }
    Status why;
    bool compacted = false;
    StatusOr<CurlEasyPtr> handle = http_->NewHandle();
    if (!handle.has_value()) {
      why = handle.error();
    } else {
      WatchStream stream(*this, std::move(*handle), endpoints[index]);
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;
        stream_ = &stream;
      }
      why = stream.Run(start);
      {
        std::lock_guard lock(mutex_);
        stream_ = nullptr;
      }
      compacted = stream.compacted();
    }
    if (compacted) break;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    Deliver(WatchNotice{.kind = WatchNotice::Kind::kDisconnected, .error = why});
    index = (index + 1) % endpoints.size();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, watch_.reconnect_pause, [this] { return stopping_; });
    if (stopping_) break;
  }
  std::lock_guard lock(mutex_);
  ended_ = true;
}

}  // namespace strongroom::cluster

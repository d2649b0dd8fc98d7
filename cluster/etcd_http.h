// cluster/etcd_http.h — private to cluster/: POSTs to etcd's JSON gateway
// over libcurl with mutual TLS, a pool of reusable connections, a deadline
// per call and the move to the next member when one cannot be reached.
//
// Thread-safety: Post/PostTo may be called from any number of threads; each
// borrows its own curl handle from the pool.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cluster/etcd_client.h"

namespace strongroom::cluster {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

// Resend says when a failed POST may go to another member.
enum class Resend {
  kIfNotSent,  // writes: only when the request never left (no connection)
  kAlways,     // reads: also after "unavailable" answers and timeouts
};

// GrpcStatus turns a gRPC code and etcd's message (from an error answer) into
// a Status naming `endpoint` (codes as etcd_client.h lists).
Status GrpcStatus(int grpc_code, std::string_view message, const std::string& endpoint);

// ErrorFromAnswer reads the gRPC code and message from an error body
// ({"error":..,"code":..,"message":..} or a stream's {"error":{...}}),
// falling back to the HTTP status when the body says nothing.
Status ErrorFromAnswer(long http_status, const std::string& body, const std::string& endpoint);

class EtcdHttp {
 public:
  // Create initialises libcurl once per process and checks the options.
  static StatusOr<std::unique_ptr<EtcdHttp>> Create(const EtcdClientOptions& options);
  ~EtcdHttp();
  EtcdHttp(const EtcdHttp&) = delete;
  EtcdHttp& operator=(const EtcdHttp&) = delete;

  // Post sends `body` to `path` ("/v3/kv/range") on the members in turn,
  // starting with the last that answered, until one answers 200 or the call
  // timeout passes. Returns the answer's body.
  StatusOr<std::string> Post(std::string_view path, const std::string& body, Resend resend);
  // PostTo sends to `endpoint` only, under the same deadline.
  StatusOr<std::string> PostTo(const std::string& endpoint, std::string_view path,
                               const std::string& body);

  // NewHandle returns a curl handle set up for this client's TLS (CA, client
  // certificate, https only, HTTP/1.1, no proxy, no signals) and headers
  // (JSON, gRPC metadata hasleader=true), for the pool and the watch stream.
  StatusOr<CurlEasyPtr> NewHandle() const;
  const EtcdClientOptions& options() const { return options_; }

 private:
  struct Attempt;
  explicit EtcdHttp(const EtcdClientOptions& options);
  Attempt PostOnce(CURL* handle, const std::string& endpoint, std::string_view path,
                   const std::string& body, std::chrono::milliseconds remaining);
  StatusOr<CurlEasyPtr> Borrow();
  void Return(CurlEasyPtr handle);

  EtcdClientOptions options_;
  curl_slist* headers_ = nullptr;
  std::atomic<std::size_t> preferred_{0};  // index of the member that last answered
  std::mutex pool_mutex_;
  std::vector<CurlEasyPtr> pool_;  // idle handles, each with its open connections
};

}  // namespace strongroom::cluster

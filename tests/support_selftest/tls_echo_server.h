// tests/support_selftest/tls_echo_server.h — a minimal HTTPS/1.1 peer for
// HttpsClient's self-tests: it answers every request on a connection with
// 200 and a text body holding the request head exactly as received (request
// line and headers) followed by "\r\n\r\nbody-bytes: N", and keeps the
// connection open until the client closes it. `openssl s_server -www` cannot
// show what a client sent, and closes after each response (HTTP/1.0).
//
// Not a general server: one connection at a time, no client certificates,
// requests with Content-Length bodies only (no chunked encoding).
//
// Thread-safety: one accept thread serves; port() and connections() may be
// read from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "base/openssl_ptr.h"

namespace strongroom::testing_support {

class TlsEchoServer {
 public:
  // TlsEchoServer listens on 127.0.0.1 (a free port) with the PEM server
  // certificate and key, and starts serving. Records a test failure (and
  // port() is 0) if it cannot.
  TlsEchoServer(const std::string& cert_path, const std::string& key_path);
  // ~TlsEchoServer closes the listening socket and any open connection and
  // joins the thread.
  ~TlsEchoServer();
  TlsEchoServer(const TlsEchoServer&) = delete;
  TlsEchoServer& operator=(const TlsEchoServer&) = delete;

  int port() const { return port_; }
  // connections is the number of TLS connections accepted so far.
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  SslCtxPtr context_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  int active_fd_ = -1;  // guarded by mutex_: the connection being served
  std::thread thread_;
};

}  // namespace strongroom::testing_support

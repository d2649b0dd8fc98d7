#include "tests/support_selftest/tls_echo_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>

namespace strongroom::testing_support {
namespace {

// ContentLength returns the Content-Length the request head declares, 0 if none.
std::size_t ContentLength(const std::string& head) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoul(lower.c_str() + at + 17, nullptr, 10);
}

// ReadMore appends what one SSL_read returns to `buffer`; false at the end
// of the connection or on an error.
bool ReadMore(SSL* ssl, std::string* buffer) {
  char chunk[16384];
  int n = SSL_read(ssl, chunk, sizeof chunk);
  if (n <= 0) return false;
  buffer->append(chunk, static_cast<std::size_t>(n));
  return true;
}

bool WriteAll(SSL* ssl, const std::string& data) {
  std::size_t written = 0;
  while (written < data.size()) {
    int n = SSL_write(ssl, data.data() + written, static_cast<int>(data.size() - written));
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TlsEchoServer::TlsEchoServer(const std::string& cert_path, const std::string& key_path)
    : context_(SSL_CTX_new(TLS_server_method())) {
  std::signal(SIGPIPE, SIG_IGN);  // a client may close while we write
  if (context_ == nullptr ||
      SSL_CTX_use_certificate_file(context_.get(), cert_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(context_.get(), key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    ADD_FAILURE() << "TlsEchoServer: cannot load " << cert_path << " / " << key_path;
    return;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "TlsEchoServer: cannot listen on 127.0.0.1";
    return;
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { AcceptLoop(); });
}

TlsEchoServer::~TlsEchoServer() {
  stopping_ = true;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);  // wakes SSL_read()
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void TlsEchoServer::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // shut down (stopping_ is set) or a transient error
    {
      std::lock_guard<std::mutex> lock(mutex_);
      active_fd_ = fd;
    }
    if (!stopping_) Serve(fd);
    std::lock_guard<std::mutex> lock(mutex_);
    active_fd_ = -1;
    ::close(fd);
  }
}

void TlsEchoServer::Serve(int fd) {
  SslPtr ssl(SSL_new(context_.get()));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1 || SSL_accept(ssl.get()) != 1) {
    ClearOpenSslErrors();
    return;
  }
  ++connections_;
  std::string buffer;
  while (!stopping_) {
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(ssl.get(), &buffer)) return;
    }
    const std::string head = buffer.substr(0, head_end);
    const std::size_t body_bytes = ContentLength(head);
    while (buffer.size() < head_end + 4 + body_bytes) {
      if (!ReadMore(ssl.get(), &buffer)) return;
    }
    buffer.erase(0, head_end + 4 + body_bytes);
    const std::string body = head + "\r\n\r\nbody-bytes: " + std::to_string(body_bytes);
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo-Test: first\r\n"
        "X-ECHO-TEST:  last \r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!WriteAll(ssl.get(), response)) return;
  }
}

}  // namespace strongroom::testing_support

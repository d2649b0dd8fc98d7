// bench/http/floor_server.cc — a yardstick for issue 19's decrypt ratio: the
// least a durably audited answer costs on this machine with the server's
// shape, and nothing else. Keep-alive HTTP/1.1 over mutual TLS on two I/O
// threads (epoll, non-blocking OpenSSL, like api/http); for each request a
// record of about 400 bytes whose body the I/O thread encodes, numbered and
// SHA-256-chained by one writer thread that writes a group with one write(2)
// and makes it durable with one fdatasync(2) before any of its answers is
// sent (SPEC 8's order); then a 64-byte answer, as nginx's in the benchmark.
// No routing, parsing past the end of the header block, store,
// authorization or unsealing. Not part of the product: run by
// bench/http/http_bench.sh when BENCH_FLOOR_BIN names it. --no-sync leaves
// out the fdatasync; --direct answers on the I/O thread at once, with no
// record (TLS and HTTP framing alone, as nginx).
//   floor_server PORT_FILE CERT KEY CA LOG_FILE [--no-sync | --direct]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr int kIoThreads = 2;
constexpr std::string_view kAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    "0000000000000000000000000000000000000000000000000000000000000000";

// Done names a connection one of whose requests was made durable.
struct Done {
  std::uint64_t conn;
};

// IoThread owns its connections; the writer hands back answered requests
// through its mailbox and wakes it with its eventfd.
struct IoThread {
  int epoll = -1;
  int wake = -1;
  std::mutex mailbox_mutex;
  std::vector<Done> mailbox;
};

struct Record {
  std::string body;
  int thread;
  std::uint64_t conn;
};

// Writer is the one thread that numbers, chains, writes and syncs records.
class Writer {
 public:
  Writer(int fd, bool sync, std::vector<std::unique_ptr<IoThread>>& threads)
      : fd_(fd), sync_(sync), threads_(threads), prev_(64, '0'), sha_(EVP_MD_CTX_new()) {}
  ~Writer() { EVP_MD_CTX_free(sha_); }

  void Queue(Record record) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(record));
    if (queue_.size() == 1) wake_.notify_one();
  }

  void Run() {
    std::vector<Record> group;
    std::string bytes;
    std::vector<bool> woken(threads_.size());
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        group.swap(queue_);
      }
      bytes.clear();
      for (const Record& record : group) Chain(record.body, bytes);
      for (std::size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n <= 0) std::abort();  // a yardstick: a failing disk ends the run
        done += static_cast<std::size_t>(n);
      }
      if (sync_ && ::fdatasync(fd_) != 0) std::abort();
      std::fill(woken.begin(), woken.end(), false);
      for (const Record& record : group) {
        IoThread& thread = *threads_[record.thread];
        std::lock_guard lock(thread.mailbox_mutex);
        thread.mailbox.push_back(Done{record.conn});
        woken[record.thread] = true;
      }
      for (std::size_t i = 0; i < threads_.size(); ++i) {
        std::uint64_t one = 1;
        if (woken[i] && ::write(threads_[i]->wake, &one, sizeof one) < 0) std::abort();
      }
      group.clear();
    }
  }

 private:
  // Chain appends the line {"seq":N,<body>,"prev":"<hex>","hash":"<hex>"}.
  void Chain(const std::string& body, std::string& out) {
    const std::size_t start = out.size();
    out += "{\"seq\":" + std::to_string(++seq_) + "," + body + ",\"prev\":\"" + prev_ + "\"";
    unsigned char digest[32];
    if (EVP_DigestInit_ex(sha_, sha256_, nullptr) != 1 ||
        EVP_DigestUpdate(sha_, prev_.data(), prev_.size()) != 1 ||
        EVP_DigestUpdate(sha_, out.data() + start, out.size() - start) != 1 ||
        EVP_DigestFinal_ex(sha_, digest, nullptr) != 1) {
      std::abort();
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) {
      prev_[2 * i] = kHex[digest[i] >> 4];
      prev_[2 * i + 1] = kHex[digest[i] & 15];
    }
    out += ",\"hash\":\"" + prev_ + "\"}\n";
  }

  int fd_;
  bool sync_;
  std::vector<std::unique_ptr<IoThread>>& threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Record> queue_;
  std::uint64_t seq_ = 0;
  std::string prev_;
  EVP_MD_CTX* sha_;
  const EVP_MD* sha256_ = EVP_sha256();
};

struct Conn {
  int fd;
  SSL* ssl;
  bool open = true;
  int pending = 0;
  std::string in;
};

void Close(std::unordered_map<std::uint64_t, Conn>& conns, std::uint64_t id) {
  Conn& conn = conns.at(id);
  if (conn.open) {
    conn.open = false;
    ::close(conn.fd);
  }
  if (conn.pending == 0) {
    SSL_free(conn.ssl);
    conns.erase(id);
  }
}

// Serve runs one I/O thread: accepts (the listener is shared, EPOLLEXCLUSIVE),
// handshakes, reads requests, queues their records and answers them once
// the writer has made them durable.
void Serve(int index, int listener, SSL_CTX* ctx, IoThread& self, Writer* writer) {
  std::unordered_map<std::uint64_t, Conn> conns;
  std::uint64_t next_id = (static_cast<std::uint64_t>(index) << 56) + 2;  // 0, 1: listener, wake-up
  epoll_event events[64];
  char buf[16384];
  std::uint64_t request = 0;
  for (;;) {
    int n = ::epoll_wait(self.epoll, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = events[i].data.u64;
      if (key == 0) {  // the listener
        for (;;) {
          int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          SSL* ssl = SSL_new(ctx);
          SSL_set_fd(ssl, fd);
          SSL_set_accept_state(ssl);
          const std::uint64_t id = next_id++;
          conns.emplace(id, Conn{fd, ssl});
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.u64 = id;
          ::epoll_ctl(self.epoll, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (key == 1) {  // the writer answered some requests
        std::uint64_t count;
        if (::read(self.wake, &count, sizeof count) < 0) continue;
        std::vector<Done> done;
        {
          std::lock_guard lock(self.mailbox_mutex);
          done.swap(self.mailbox);
        }
        for (const Done& d : done) {
          auto it = conns.find(d.conn);
          if (it == conns.end()) continue;
          Conn& conn = it->second;
          --conn.pending;
          if (conn.open) {
            int w;
            while ((w = SSL_write(conn.ssl, kAnswer.data(), static_cast<int>(kAnswer.size()))) <= 0 &&
                   SSL_get_error(conn.ssl, w) == SSL_ERROR_WANT_WRITE) {
            }
            if (w <= 0) Close(conns, d.conn);
          } else if (conn.pending == 0) {
            Close(conns, d.conn);
          }
        }
        continue;
      }
      auto it = conns.find(key);
      if (it == conns.end() || !it->second.open) continue;
      Conn& conn = it->second;
      bool closed = false;
      for (;;) {
        int r = SSL_read(conn.ssl, buf, sizeof buf);
        if (r > 0) {
          conn.in.append(buf, static_cast<std::size_t>(r));
          continue;
        }
        int err = SSL_get_error(conn.ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) closed = true;
        break;
      }
      std::size_t end;
      while ((end = conn.in.find("\r\n\r\n")) != std::string::npos) {
        std::string_view head(conn.in.data(), end);
        std::size_t path_end = head.find(' ', 4);
        std::string path(head.substr(4, path_end == std::string_view::npos ? 0 : path_end - 4));
        conn.in.erase(0, end + 4);
        if (writer == nullptr) {  // --direct
          if (SSL_write(conn.ssl, kAnswer.data(), static_cast<int>(kAnswer.size())) <= 0) {
            closed = true;
            break;
          }
          continue;
        }
        ++conn.pending;
        Record record;
        record.thread = index;
        record.conn = key;
        record.body =
            "\"time\":\"2026-12-06T00:00:00.000000Z\",\"actor\":{\"kind\":\"service\",\"name\":"
            "\"bench-svc\",\"fingerprint\":\"" + std::string(64, 'f') +
            "\"},\"action\":\"decrypt\",\"resource\":\"" + path +
            "\",\"outcome\":\"allowed\",\"http_status\":200,\"request_id\":\"" +
            std::to_string(index) + "-" + std::to_string(++request) + "\"";
        writer->Queue(std::move(record));
      }
      if (closed || (events[i].events & (EPOLLHUP | EPOLLERR))) Close(conns, key);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: floor_server PORT_FILE CERT KEY CA LOG_FILE [--no-sync | --direct]\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const std::string mode = argc > 6 ? argv[6] : "";
  const bool sync = mode != "--no-sync";
  const bool direct = mode == "--direct";
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx, argv[4], nullptr) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  int log = ::open(argv[5], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (log < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1024) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("floor_server");
    return 1;
  }
  std::vector<std::unique_ptr<IoThread>> threads;
  for (int i = 0; i < kIoThreads; ++i) {
    auto thread = std::make_unique<IoThread>();
    thread->epoll = ::epoll_create1(EPOLL_CLOEXEC);
    thread->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = 0;
    ::epoll_ctl(thread->epoll, EPOLL_CTL_ADD, listener, &ev);
    ev.events = EPOLLIN;
    ev.data.u64 = 1;
    ::epoll_ctl(thread->epoll, EPOLL_CTL_ADD, thread->wake, &ev);
    threads.push_back(std::move(thread));
  }
  Writer writer(log, sync, threads);
  std::vector<std::thread> running;
  if (!direct) running.emplace_back([&] { writer.Run(); });
  for (int i = 0; i < kIoThreads; ++i) {
    running.emplace_back(
        [&, i] { Serve(i, listener, ctx, *threads[i], direct ? nullptr : &writer); });
  }
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "%d\n", ntohs(addr.sin_port));
    std::fclose(f);
  }
  for (std::thread& t : running) t.join();
}

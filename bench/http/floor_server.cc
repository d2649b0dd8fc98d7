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
// bench/http/http_bench.sh when BENCH_FLOOR_BIN names it.
// By default the writer hands each answered request back to its I/O thread
// (a mailbox and an eventfd), as the server does. Options:
//   --no-sync         no fdatasync
//   --direct          no record: the I/O thread answers at once (TLS and
//                     HTTP framing alone, as nginx)
//   --writer-answers  the writer sends the answers itself, each under its
//                     connection's lock, instead of handing them back
//   floor_server PORT_FILE CERT KEY CA LOG_FILE [OPTION...]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
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
constexpr std::uint64_t kListenerKey = 0;
constexpr std::uint64_t kWakeKey = 1;
constexpr std::string_view kAnswer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Options {
  bool sync = true;
  bool direct = false;
  bool writer_answers = false;
};

// Conn is one TLS connection. Its I/O thread reads it; the answer is sent
// by the I/O thread or, with --writer-answers, by the writer: every use of
// `ssl` and `fd` holds `mutex`. Freed with its last reference (the I/O
// thread's map and the records in flight).
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  bool open = true;
  std::string in;
  std::mutex mutex;
  ~Conn() { SSL_free(ssl); }
};

// Answer sends one answer. REQUIRES: conn.mutex held.
void Answer(Conn& conn) {
  if (!conn.open) return;
  int written;
  while ((written = SSL_write(conn.ssl, kAnswer.data(), static_cast<int>(kAnswer.size()))) <= 0 &&
         SSL_get_error(conn.ssl, written) == SSL_ERROR_WANT_WRITE) {
  }
}

// IoThread is one I/O thread's epoll set and the mailbox through which the
// writer hands back requests whose records are durable.
struct IoThread {
  int epoll = -1;
  int wake = -1;
  std::mutex mailbox_mutex;
  std::vector<std::shared_ptr<Conn>> mailbox;
};

struct Record {
  std::string body;
  int thread = 0;
  std::shared_ptr<Conn> conn;
};

// Writer is the one thread that numbers, chains, writes and syncs records.
class Writer {
 public:
  Writer(int fd, const Options& options, std::vector<std::unique_ptr<IoThread>>& threads)
      : fd_(fd), options_(options), threads_(threads), prev_(64, '0'), sha_(EVP_MD_CTX_new()) {}
  ~Writer() { EVP_MD_CTX_free(sha_); }

  void Queue(Record record) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(record));
    if (queue_.size() == 1) wake_.notify_one();
  }

  void Run() {
    std::vector<Record> group;
    std::string bytes;
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
      if (options_.sync && ::fdatasync(fd_) != 0) std::abort();
      if (options_.writer_answers) {
        for (const Record& record : group) {
          std::lock_guard lock(record.conn->mutex);
          Answer(*record.conn);
        }
      } else {
        HandBack(group);
      }
      group.clear();
    }
  }

 private:
  // HandBack posts each record's connection to its I/O thread's mailbox and
  // wakes each thread that got one.
  void HandBack(std::vector<Record>& group) {
    std::vector<bool> woken(threads_.size());
    for (Record& record : group) {
      IoThread& thread = *threads_[record.thread];
      std::lock_guard lock(thread.mailbox_mutex);
      thread.mailbox.push_back(std::move(record.conn));
      woken[record.thread] = true;
    }
    for (std::size_t i = 0; i < threads_.size(); ++i) {
      std::uint64_t one = 1;
      if (woken[i] && ::write(threads_[i]->wake, &one, sizeof one) < 0) std::abort();
    }
  }

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
  Options options_;
  std::vector<std::unique_ptr<IoThread>>& threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Record> queue_;
  std::uint64_t seq_ = 0;
  std::string prev_;
  EVP_MD_CTX* sha_;
  const EVP_MD* sha256_ = EVP_sha256();
};

using Conns = std::unordered_map<std::uint64_t, std::shared_ptr<Conn>>;

void Close(Conns& conns, std::uint64_t id) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  {
    std::lock_guard lock(it->second->mutex);
    it->second->open = false;
    ::close(it->second->fd);
  }
  conns.erase(it);
}

void Accept(int listener, SSL_CTX* ctx, int epoll, Conns& conns, std::uint64_t& next_id) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Conn>();
    conn->fd = fd;
    conn->ssl = SSL_new(ctx);
    SSL_set_fd(conn->ssl, fd);
    SSL_set_accept_state(conn->ssl);
    const std::uint64_t id = next_id++;
    conns.emplace(id, std::move(conn));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = id;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
  }
}

// ReadRequests reads what the connection has and queues a record for each
// whole request (or, with no writer, answers it). False once it is closed.
bool ReadRequests(const std::shared_ptr<Conn>& held, int index, Writer* writer,
                  std::uint64_t& request) {
  Conn& conn = *held;
  std::lock_guard lock(conn.mutex);
  char buf[16384];
  bool open = true;
  for (;;) {
    int r = SSL_read(conn.ssl, buf, sizeof buf);
    if (r > 0) {
      conn.in.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    int err = SSL_get_error(conn.ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) open = false;
    break;
  }
  std::size_t end;
  while ((end = conn.in.find("\r\n\r\n")) != std::string::npos) {
    std::string_view head(conn.in.data(), end);
    std::size_t path_end = head.find(' ', 4);
    std::string path(head.substr(4, path_end == std::string_view::npos ? 0 : path_end - 4));
    conn.in.erase(0, end + 4);
    if (writer == nullptr) {
      Answer(conn);
      continue;
    }
    Record record;
    record.thread = index;
    record.conn = held;
    record.body =
        "\"time\":\"2026-12-06T00:00:00.000000Z\",\"actor\":{\"kind\":\"service\",\"name\":"
        "\"bench-svc\",\"fingerprint\":\"" + std::string(64, 'f') +
        "\"},\"action\":\"decrypt\",\"resource\":\"" + path +
        "\",\"outcome\":\"allowed\",\"http_status\":200,\"request_id\":\"" +
        std::to_string(index) + "-" + std::to_string(++request) + "\"";
    writer->Queue(std::move(record));
  }
  return open;
}

// Serve runs one I/O thread: accepts (the listener is shared,
// EPOLLEXCLUSIVE), reads requests, and sends the answers the writer hands
// back.
void Serve(int index, int listener, SSL_CTX* ctx, IoThread& self, Writer* writer) {
  Conns conns;
  std::uint64_t next_id = (static_cast<std::uint64_t>(index) << 56) + kWakeKey + 1;
  std::uint64_t request = 0;
  std::vector<std::shared_ptr<Conn>> answered;
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(self.epoll, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = events[i].data.u64;
      if (key == kListenerKey) {
        Accept(listener, ctx, self.epoll, conns, next_id);
      } else if (key == kWakeKey) {
        std::uint64_t count;
        if (::read(self.wake, &count, sizeof count) < 0) continue;
        {
          std::lock_guard lock(self.mailbox_mutex);
          answered.swap(self.mailbox);
        }
        for (const std::shared_ptr<Conn>& conn : answered) {
          std::lock_guard lock(conn->mutex);
          Answer(*conn);
        }
        answered.clear();
      } else if (auto it = conns.find(key); it != conns.end()) {
        const bool open = ReadRequests(it->second, index, writer, request);
        if (!open || (events[i].events & (EPOLLHUP | EPOLLERR))) Close(conns, key);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: floor_server PORT_FILE CERT KEY CA LOG_FILE "
                 "[--no-sync] [--direct] [--writer-answers]\n");
    return 2;
  }
  Options options;
  for (int i = 6; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--no-sync") {
      options.sync = false;
    } else if (option == "--direct") {
      options.direct = true;
    } else if (option == "--writer-answers") {
      options.writer_answers = true;
    } else {
      std::fprintf(stderr, "floor_server: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
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
    ev.data.u64 = kListenerKey;
    ::epoll_ctl(thread->epoll, EPOLL_CTL_ADD, listener, &ev);
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeKey;
    ::epoll_ctl(thread->epoll, EPOLL_CTL_ADD, thread->wake, &ev);
    threads.push_back(std::move(thread));
  }
  Writer writer(log, options, threads);
  std::vector<std::thread> running;
  if (!options.direct) running.emplace_back([&] { writer.Run(); });
  for (int i = 0; i < kIoThreads; ++i) {
    running.emplace_back([&, i] {
      Serve(i, listener, ctx, *threads[i], options.direct ? nullptr : &writer);
    });
  }
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "%d\n", ntohs(addr.sin_port));
    std::fclose(f);
  }
  for (std::thread& t : running) t.join();
}

#include "tests/support/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <thread>

extern char** environ;

namespace strongroom::testing_support {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{100};
constexpr milliseconds kStartWait{30000};
constexpr milliseconds kRestartWait{20000};

// Reaped waits for `pid` without blocking; true once it has exited (and is
// reaped).
bool Reaped(pid_t pid) {
  int status = 0;
  const pid_t done = ::waitpid(pid, &status, WNOHANG);
  return done == pid || (done < 0 && errno == ECHILD);
}

}  // namespace

std::vector<int> ReserveLoopbackPorts(int count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    sockets.push_back(fd);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      break;
    }
    ports.push_back(ntohs(address.sin_port));
  }
  for (int fd : sockets) ::close(fd);
  return ports;
}

std::unique_ptr<EtcdCluster> EtcdCluster::Start(int members) {
  if (::access(kEtcdBinaryPath, X_OK) != 0) {
    ADD_FAILURE() << kEtcdBinaryPath << " is missing: run scripts/setup.sh (etcd-server)";
    return nullptr;
  }
  std::unique_ptr<EtcdCluster> made(new EtcdCluster());
  const std::string pki_dir = made->dir_.Join("pki");
  ::mkdir(pki_dir.c_str(), 0700);
  made->pki_ = std::make_unique<TestPki>(pki_dir);
  made->member_cert_ = made->pki_->IssuePeer("member");
  made->client_cert_ =
      made->pki_->IssueClient("client", ClientCertificateOptions{.common_name = "strongroom-node"});

  const std::vector<int> ports = ReserveLoopbackPorts(2 * members);
  if (static_cast<int>(ports.size()) != 2 * members) {
    ADD_FAILURE() << "cannot reserve " << 2 * members << " loopback ports";
    return nullptr;
  }
  for (int i = 0; i < members; ++i) {
    Member member;
    member.name = "m" + std::to_string(i);
    member.client_port = ports[2 * i];
    member.peer_port = ports[2 * i + 1];
    member.client_url = "https://127.0.0.1:" + std::to_string(member.client_port);
    member.peer_url = "https://127.0.0.1:" + std::to_string(member.peer_port);
    member.data_dir = made->dir_.Join("member-" + std::to_string(i));
    member.log_path = made->dir_.Join("member-" + std::to_string(i) + ".log");
    if (!made->initial_cluster_.empty()) made->initial_cluster_ += ",";
    made->initial_cluster_ += member.name + "=" + member.peer_url;
    made->members_.push_back(std::move(member));
  }

  cluster::EtcdClientOptions status_options = made->ClientOptions({}, milliseconds(1000));
  status_options.connect_timeout = milliseconds(300);
  auto client = cluster::EtcdClient::Create(status_options);
  if (!client.has_value()) {
    ADD_FAILURE() << "etcd status client: " << client.error();
    return nullptr;
  }
  made->status_client_ = std::move(*client);

  for (int i = 0; i < members; ++i) {
    if (!made->Spawn(i)) return nullptr;
  }
  for (int i = 0; i < members; ++i) {
    if (!made->WaitMember(i, kStartWait)) return nullptr;
  }
  return made;
}

EtcdCluster::~EtcdCluster() { StopAll(); }

std::vector<std::string> EtcdCluster::client_endpoints() const {
  std::vector<std::string> urls;
  for (const Member& member : members_) urls.push_back(member.client_url);
  return urls;
}

cluster::EtcdClientOptions EtcdCluster::ClientOptions(std::vector<std::string> endpoints,
                                                      milliseconds call_timeout) const {
  cluster::EtcdClientOptions options;
  options.endpoints = endpoints.empty() ? client_endpoints() : std::move(endpoints);
  options.tls = cluster::EtcdTls{.ca_file = pki_->ca_cert_path(),
                                 .cert_file = client_cert_.cert_path,
                                 .key_file = client_cert_.key_path};
  options.call_timeout = call_timeout;
  return options;
}

bool EtcdCluster::Spawn(int i) {
  Member& member = members_[i];
  const std::vector<std::string> args = {
      kEtcdBinaryPath,
      "--name", member.name,
      "--data-dir", member.data_dir,
      "--listen-client-urls", member.client_url,
      "--advertise-client-urls", member.client_url,
      "--listen-peer-urls", member.peer_url,
      "--initial-advertise-peer-urls", member.peer_url,
      "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", "strongroom-test",
      "--cert-file", member_cert_.cert_path,
      "--key-file", member_cert_.key_path,
      "--trusted-ca-file", pki_->ca_cert_path(),
      "--client-cert-auth",
      "--peer-cert-file", member_cert_.cert_path,
      "--peer-key-file", member_cert_.key_path,
      "--peer-trusted-ca-file", pki_->ca_cert_path(),
      "--peer-client-cert-auth",
      "--logger", "zap",
      "--log-level", "warn",
  };
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
    const int log = ::open(member.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int null = ::open("/dev/null", O_RDONLY);
    if (log < 0 || null < 0) ::_exit(126);
    if (::dup2(null, STDIN_FILENO) < 0 || ::dup2(log, STDOUT_FILENO) < 0 ||
        ::dup2(log, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  member.pid = pid;
  return true;
}

bool EtcdCluster::running(int i) {
  Member& member = members_[i];
  if (member.pid < 0) return false;
  if (Reaped(member.pid)) {
    member.pid = -1;
    return false;
  }
  return true;
}

bool EtcdCluster::WaitMember(int i, milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (!running(i)) {
      ADD_FAILURE() << "etcd member " << i << " exited; its log ends:\n" << LogTail(i);
      return false;
    }
    auto status = status_client_->GetMemberStatus(members_[i].client_url);
    if (status.has_value() && status->leader != 0) return true;
    last = status.has_value() ? std::string("no leader yet") : status.error().ToString();
    std::this_thread::sleep_for(kPollInterval);
  }
  ADD_FAILURE() << "etcd member " << i << " not ready within " << wait.count() << " ms (" << last
                << "); its log ends:\n"
                << LogTail(i);
  return false;
}

int EtcdCluster::FindLeader(milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  std::string last = "no member answered";
  while (Clock::now() < deadline) {
    std::map<std::uint64_t, int> index_of_member_id;
    std::uint64_t leader = 0;
    bool agreed = true;
    for (int i = 0; i < size() && agreed; ++i) {
      if (!running(i)) continue;
      auto status = status_client_->GetMemberStatus(members_[i].client_url);
      if (!status.has_value() || status->leader == 0 || (leader != 0 && status->leader != leader)) {
        agreed = false;
        last = status.has_value() ? "members disagree or have no leader" : status.error().ToString();
        break;
      }
      leader = status->leader;
      index_of_member_id[status->header.member_id] = i;
    }
    if (agreed && leader != 0) {
      auto found = index_of_member_id.find(leader);
      if (found != index_of_member_id.end()) return found->second;
      last = "the leader named is not a running member";
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  ADD_FAILURE() << "etcd members did not agree on a leader within " << wait.count() << " ms ("
                << last << ")";
  return -1;
}

bool EtcdCluster::Kill(int i) {
  Member& member = members_[i];
  if (!running(i)) {
    ADD_FAILURE() << "etcd member " << i << " is not running";
    return false;
  }
  ::kill(member.pid, SIGKILL);
  int status = 0;
  while (::waitpid(member.pid, &status, 0) < 0 && errno == EINTR) {
  }
  member.pid = -1;
  return true;
}

bool EtcdCluster::Restart(int i) {
  if (running(i)) {
    ADD_FAILURE() << "etcd member " << i << " is still running";
    return false;
  }
  return Spawn(i) && WaitMember(i, kRestartWait);
}

void EtcdCluster::StopAll() {
  // SIGKILL, not SIGTERM: the data goes away with the temporary directory,
  // and a member stopping gracefully first tries to hand its leadership to
  // a peer, which members stopping together cannot take (measured: ~5 s
  // per cluster, most of a test's time).
  for (Member& member : members_) {
    if (member.pid <= 0) continue;
    ::kill(member.pid, SIGKILL);
    int status = 0;
    while (::waitpid(member.pid, &status, 0) < 0 && errno == EINTR) {
    }
    member.pid = -1;
  }
}

std::string EtcdCluster::LogTail(int i, int lines) const {
  std::ifstream in(members_[i].log_path);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& line : tail) out += line + "\n";
  return out;
}

}  // namespace strongroom::testing_support

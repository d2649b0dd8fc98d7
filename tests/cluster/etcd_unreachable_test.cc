// An unreachable cluster: calls end with kUnavailable within their timeout,
// never hang. No etcd runs here: one endpoint refuses connections, another
// accepts TCP but never answers the TLS handshake.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "cluster/etcd_client.h"
#include "cluster/etcd_watch.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace strongroom::cluster {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// SilentListener accepts TCP connections into its backlog and never reads.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class EtcdUnreachable : public ::testing::Test {
 protected:
  void SetUp() override {
    client_cert_ = pki_.IssueClient("client", {.common_name = "strongroom-node"});
    const std::vector<int> ports = testing_support::ReserveLoopbackPorts(2);
    ASSERT_EQ(ports.size(), 2u);
    ASSERT_NE(silent_.port(), 0);
    refused_ = {"https://127.0.0.1:" + std::to_string(ports[0]),
                "https://127.0.0.1:" + std::to_string(ports[1])};
    silent_url_ = "https://127.0.0.1:" + std::to_string(silent_.port());
  }

  EtcdClientOptions Options(std::vector<std::string> endpoints) const {
    return EtcdClientOptions{.endpoints = std::move(endpoints),
                             .tls = {.ca_file = pki_.ca_cert_path(),
                                     .cert_file = client_cert_.cert_path,
                                     .key_file = client_cert_.key_path},
                             .call_timeout = kCallTimeout,
                             .connect_timeout = milliseconds(300)};
  }

  static constexpr milliseconds kCallTimeout{1000};
  // Slack for a busy 2-core machine; a hang would exceed it by far.
  static constexpr milliseconds kSlack{1000};
  testing_support::TempDir dir_;
  testing_support::TestPki pki_{dir_.path()};
  testing_support::IssuedCertificate client_cert_;
  SilentListener silent_;
  std::vector<std::string> refused_;
  std::string silent_url_;
};

TEST_F(EtcdUnreachable, EveryCallIsUnavailableWithinItsTimeout) {
  for (const auto& endpoints :
       {refused_, std::vector<std::string>{silent_url_, refused_[0]}}) {
    auto client = EtcdClient::Create(Options(endpoints));
    ASSERT_OK(client);
    const Clock::time_point start = Clock::now();
    EXPECT_STATUS((*client)->Put({.key = "k", .value = "v"}), StatusCode::kUnavailable);
    EXPECT_STATUS((*client)->Range({.key = "k"}), StatusCode::kUnavailable);
    EXPECT_STATUS((*client)->Txn({.compare = {Compare::KeyMissing("k")}}),
                  StatusCode::kUnavailable);
    EXPECT_STATUS((*client)->LeaseGrant(5), StatusCode::kUnavailable);
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    EXPECT_LE(took.count(), (4 * kCallTimeout + kSlack).count()) << endpoints.front();
  }
  // A member that accepts TCP and never answers costs one connect timeout,
  // not the whole call.
  auto silent_only = EtcdClient::Create(Options({silent_url_}));
  ASSERT_OK(silent_only);
  const Clock::time_point start = Clock::now();
  EXPECT_STATUS((*silent_only)->Range({.key = "k"}), StatusCode::kUnavailable);
  EXPECT_LE(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count(),
            (kCallTimeout + kSlack).count());
}

TEST_F(EtcdUnreachable, AWatchReportsDisconnectionAndStopsPromptly) {
  std::mutex mutex;
  std::condition_variable changed;
  int disconnected = 0;
  Status why;
  auto watch = EtcdWatch::Start(Options(refused_), WatchOptions{.key = "k"},
                                [&](const WatchNotice& notice) {
                                  std::lock_guard lock(mutex);
                                  if (notice.kind == WatchNotice::Kind::kDisconnected) {
                                    ++disconnected;
                                    why = notice.error;
                                  }
                                  changed.notify_all();
                                });
  ASSERT_OK(watch);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, milliseconds(10000), [&] { return disconnected >= 2; }));
    EXPECT_EQ(why.code(), StatusCode::kUnavailable);
  }
  const Clock::time_point start = Clock::now();
  (*watch)->Stop();
  EXPECT_LE(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count(),
            kSlack.count());
  EXPECT_TRUE((*watch)->ended());
}

TEST(EtcdClientOptions, RefusesPlainHttpAndMissingEndpoints) {
  testing_support::TempDir dir;
  testing_support::TestPki pki(dir.path());
  auto cert = pki.IssueClient("client", {.common_name = "n"});
  EtcdTls tls{.ca_file = pki.ca_cert_path(), .cert_file = cert.cert_path, .key_file = cert.key_path};
  EXPECT_STATUS(EtcdClient::Create({.endpoints = {}, .tls = tls}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(EtcdClient::Create({.endpoints = {"http://127.0.0.1:2379"}, .tls = tls}),
                StatusCode::kInvalidArgument);
  EtcdTls missing = tls;
  missing.key_file = dir.Join("absent.key");
  EXPECT_STATUS(EtcdClient::Create({.endpoints = {"https://127.0.0.1:2379"}, .tls = missing}),
                StatusCode::kInvalidArgument);
  EXPECT_OK(EtcdClient::Create({.endpoints = {"https://127.0.0.1:2379"}, .tls = tls}));
}

}  // namespace
}  // namespace strongroom::cluster

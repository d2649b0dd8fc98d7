// tests/support/etcd_cluster.h — a real etcd cluster for tests: Debian's
// etcd-server (/usr/bin/etcd), N members on 127.0.0.1 free ports, each with
// its own data directory on the test's temporary directory (a real disk,
// never tmpfs: etcd's fsyncs are part of what the tests exercise), peer and
// client mutual TLS with certificates from a TestPki.
//
// Layout of the private temporary directory (removed at destruction):
//   pki/        ca.pem; member.pem/.key (serverAuth + clientAuth, shared by
//               the members); client.pem/.key (clientAuth, CN strongroom-node)
//   member-I/   the data directory of member I
//   member-I.log  its stderr (shown, in its last lines, when a wait fails)
//
// Member I keeps its ports and data directory across Kill and Restart, as a
// rebooted host keeps its address and disk.
//
// Thread-safety: one test thread drives an EtcdCluster. Members get SIGKILL
// when the thread that started them exits (PR_SET_PDEATHSIG), so a crashed
// test leaves no etcd behind: start and stop the cluster on the test's own
// thread. Failures record a gtest failure with the reason.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace strongroom::testing_support {

// EtcdBinaryPath is where Debian's etcd-server installs etcd.
inline constexpr const char* kEtcdBinaryPath = "/usr/bin/etcd";

// ReserveLoopbackPorts returns `count` distinct TCP ports free on 127.0.0.1
// a moment ago (bound together, then released), or fewer if binding failed.
std::vector<int> ReserveLoopbackPorts(int count);

class EtcdCluster {
 public:
  // Start makes the PKI, reserves 2 free ports per member, starts `members`
  // members and waits (at most 30 s) until every member answers and agrees
  // on a leader. Returns nullptr after recording a test failure (etcd not
  // installed: "run scripts/setup.sh"; a member that exits or never
  // answers: the tail of its log).
  static std::unique_ptr<EtcdCluster> Start(int members = 3);
  // ~EtcdCluster kills every member (SIGKILL) and reaps it; the data
  // directories go with the temporary directory.
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // client_endpoint is member i's client URL, "https://127.0.0.1:PORT".
  const std::string& client_endpoint(int i) const { return members_[i].client_url; }
  // client_endpoints lists every member's client URL, member 0 first.
  std::vector<std::string> client_endpoints() const;
  // ClientOptions is an EtcdClientOptions for `endpoints` (default: every
  // member) with the client certificate and the given call timeout.
  cluster::EtcdClientOptions ClientOptions(
      std::vector<std::string> endpoints = {},
      std::chrono::milliseconds call_timeout = std::chrono::milliseconds(2000)) const;
  const TestPki& pki() const { return *pki_; }

  // FindLeader returns the index of the member every running member names
  // as leader, waiting at most `wait` for them to agree; -1 (and a test
  // failure) if they do not.
  int FindLeader(std::chrono::milliseconds wait = std::chrono::milliseconds(15000));
  // Kill sends SIGKILL to member i and reaps it. Returns false (and records
  // a failure) if it was not running.
  bool Kill(int i);
  // Restart starts member i again on its ports and data directory and waits
  // (at most 20 s) until it answers with a leader. False on failure.
  bool Restart(int i);
  // running is whether member i's process is alive (not killed, not exited).
  bool running(int i);
  // LogTail returns the last `lines` lines of member i's log.
  std::string LogTail(int i, int lines = 20) const;

 private:
  struct Member {
    std::string name;        // "m0", "m1", ...
    int client_port = 0;
    int peer_port = 0;
    std::string client_url;  // https://127.0.0.1:client_port
    std::string peer_url;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;          // -1: not running
  };

  EtcdCluster() = default;
  bool Spawn(int i);
  // WaitMember waits until member i answers maintenance status with a
  // leader, or its process exits, or `wait` passes.
  bool WaitMember(int i, std::chrono::milliseconds wait);
  void StopAll();

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  IssuedCertificate member_cert_;
  IssuedCertificate client_cert_;
  std::string initial_cluster_;  // m0=https://127.0.0.1:P0,...
  std::vector<Member> members_;
  std::unique_ptr<cluster::EtcdClient> status_client_;  // for maintenance status
};

}  // namespace strongroom::testing_support

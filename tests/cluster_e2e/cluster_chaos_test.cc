// Chaos on three appliances and three etcd members (issue 18): under 8
// writer clients and decrypt load on every node, each round kills (SIGKILL)
// the etcd LEADER (the test asserts, from etcd's status, that the member it
// kills is the one every member names as leader) and one appliance, then
// restarts both. At the end:
//   - 0 acknowledged writes lost: every create answered 201 is readable on
//     every node, its decrypted value's SHA-256 equal to what was sent;
//   - decrypts on the surviving nodes kept answering while the leader and
//     the node were down (successes per surviving node per round > 0);
//   - the killed node rejoined and caught up: every node lists the same
//     records at the same resourceVersions;
//   - every node's audit log verifies (`strongroom audit verify`).
// Rounds: SR_CHAOS_ROUNDS (default 2; scripts/cluster-chaos.sh runs 5).
// Bounded: each phase of a round has a fixed length, every wait a limit.
// Values are never printed (hashes only).
#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "tests/cluster_e2e/cluster_e2e_support.h"
#include "tests/support/appliance_cluster.h"

namespace strongroom::testing_support {
namespace {

using namespace cluster_e2e;  // NOLINT: the suite's own helpers
using std::chrono::milliseconds;

const std::string kNs = "chaos";
constexpr int kWriters = 8;
constexpr int kSeeded = 20;  // values the decrypt load reads
constexpr milliseconds kLoadBeforeKill{1500};
constexpr milliseconds kOutage{2500};
constexpr milliseconds kLoadAfterRestart{1500};

int Rounds() {
  const char* text = std::getenv("SR_CHAOS_ROUNDS");
  const int rounds = text != nullptr ? std::atoi(text) : 2;
  return rounds > 0 && rounds <= 50 ? rounds : 2;
}

std::string RandomValue() {
  unsigned char random[16];
  if (RAND_bytes(random, sizeof(random)) != 1) std::abort();
  std::string value = "chaos-";
  for (unsigned char byte : random) value += "0123456789abcdef"[byte >> 4];
  return value;
}

// NodeTable is where each node answers, "" while it is down: the load
// threads read it before each request and the test thread changes it
// around a kill and a restart.
class NodeTable {
 public:
  explicit NodeTable(int nodes) : urls_(nodes) {}
  void Set(int i, std::string url) {
    std::lock_guard lock(mutex_);
    urls_[i] = std::move(url);
  }
  std::string Get(int i) const {
    std::lock_guard lock(mutex_);
    return urls_[i];
  }
  int size() const { return static_cast<int>(urls_.size()); }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> urls_;
};

// NodeClients keeps one client per node for one thread, made again when
// the node's address changes (a restart may change its port).
class NodeClients {
 public:
  NodeClients(const NodeTable& table, std::string ca, std::string cert, std::string key)
      : table_(table),
        ca_(std::move(ca)),
        cert_(std::move(cert)),
        key_(std::move(key)),
        clients_(table.size()),
        urls_(table.size()) {}
  // For returns node i's client, or nullptr while it is down.
  HttpsClient* For(int i) {
    const std::string url = table_.Get(i);
    if (url.empty()) return nullptr;
    if (clients_[i] == nullptr || urls_[i] != url) {
      clients_[i] = std::make_unique<HttpsClient>(url, ca_);
      clients_[i]->SetClientCertificate(cert_, key_);
      clients_[i]->SetTimeoutMs(3'000);
      urls_[i] = url;
    }
    return clients_[i].get();
  }

 private:
  const NodeTable& table_;
  std::string ca_, cert_, key_;
  std::vector<std::unique_ptr<HttpsClient>> clients_;
  std::vector<std::string> urls_;
};

TEST(ClusterChaos, KillingTheEtcdLeaderAndANodeLosesNoAcknowledgedWriteAndDecryptsContinue) {
  auto cluster = ApplianceCluster::Start({.extra_policy_files = {{"cluster.json", kPolicy}}});
  ASSERT_NE(cluster, nullptr);
  const int nodes = cluster->size();
  const ServerProcess& first = cluster->node(0);
  NodeTable table(nodes);
  for (int i = 0; i < nodes; ++i) table.Set(i, cluster->node(i).base_url());

  // Values the decrypt load reads, present on every node before it starts.
  {
    HttpsClient admin = first.CertClient(first.admin_cert());
    for (int s = 0; s < kSeeded; ++s) {
      const std::string name = "seed-" + std::to_string(s);
      ASSERT_EQ(admin.Request("POST", Collection(kNs), SecureValueBody(name, RandomValue())).status,
                201);
    }
    for (int i = 1; i < nodes; ++i) {
      HttpsClient other = cluster->node(i).CertClient(cluster->node(i).admin_cert());
      ASSERT_TRUE(WaitUntil([&] { return ListAll(other, kNs).versions.size() == kSeeded; }))
          << ApplianceCluster::node_name(i) << " never saw the seeded values";
    }
  }

  std::atomic<bool> stop{false};
  std::vector<std::atomic<long>> decrypts(nodes);  // successes per node
  std::atomic<long> write_attempts{0};
  std::mutex acked_mutex;
  std::map<std::string, std::string> acked;  // name -> SHA-256 of the value sent
  std::atomic<long> acked_count{0};          // acked.size(), read without the lock
  std::vector<std::thread> load;
  // Joins the load on every way out, an ASSERT's early return included.
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinOnExit() {
      stop = true;
      for (std::thread& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } join_on_exit{stop, load};
  for (int w = 0; w < kWriters; ++w) {
    load.emplace_back([&, w] {
      NodeClients clients(table, first.ca_path(), first.admin_cert().cert_path,
                          first.admin_cert().key_path);
      for (long seq = 0; !stop.load(); ++seq) {
        HttpsClient* client = clients.For(static_cast<int>((w + seq) % nodes));
        if (client == nullptr) {  // that node is down: the next one
          if (nodes == 1) std::this_thread::sleep_for(milliseconds(20));
          continue;
        }
        const std::string name = "w" + std::to_string(w) + "-" + std::to_string(seq);
        const std::string value = RandomValue();
        ++write_attempts;
        HttpsResponse created =
            client->Request("POST", Collection(kNs), SecureValueBody(name, value));
        if (created.status == 201) {
          std::lock_guard lock(acked_mutex);
          acked[name] = Sha256Hex(value);
          ++acked_count;
        } else if (created.status == 0 || created.status >= 500) {
          std::this_thread::sleep_for(milliseconds(20));  // node or etcd away
        }
      }
    });
  }
  for (int i = 0; i < nodes; ++i) {
    load.emplace_back([&, i] {
      NodeClients clients(table, first.ca_path(), first.decrypter_cert().cert_path,
                          first.decrypter_cert().key_path);
      for (long seq = 0; !stop.load(); ++seq) {
        HttpsClient* client = clients.For(i);
        if (client == nullptr) {
          std::this_thread::sleep_for(milliseconds(20));
          continue;
        }
        const std::string name = "seed-" + std::to_string(seq % kSeeded);
        if (client->Request("POST", DecryptOne(kNs, name)).status == 200) ++decrypts[i];
      }
    });
  }

  const int rounds = Rounds();
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    std::this_thread::sleep_for(kLoadBeforeKill);
    const int victim = (round + 1) % nodes;
    const int leader = cluster->EtcdLeader();
    ASSERT_GE(leader, 0) << "the etcd members agree on a leader before the kill";
    // The member killed is the one every running member names as leader,
    // read from etcd's maintenance status just now (EtcdCluster::FindLeader).
    ASSERT_TRUE(cluster->KillEtcdMember(leader));
    table.Set(victim, "");
    ASSERT_TRUE(cluster->KillNode(victim));
    std::vector<long> before(nodes);
    for (int i = 0; i < nodes; ++i) before[i] = decrypts[i].load();
    const long acked_before = acked_count.load();
    std::this_thread::sleep_for(kOutage);
    const int new_leader = cluster->EtcdLeader();
    EXPECT_NE(new_leader, leader) << "the remaining members elected another leader";
    std::string answered_text;
    for (int i = 0; i < nodes; ++i) {
      if (i == victim) continue;
      const long answered = decrypts[i].load() - before[i];
      EXPECT_GT(answered, 0) << ApplianceCluster::node_name(i)
                             << " answered no decrypt while etcd member m" << leader << " and "
                             << ApplianceCluster::node_name(victim) << " were down";
      answered_text += " " + ApplianceCluster::node_name(i) + "=" + std::to_string(answered);
    }
    std::printf(
        "round %d: killed etcd leader m%d and %s; meanwhile creates acknowledged: %ld, decrypts "
        "answered:%s\n",
        round + 1, leader, ApplianceCluster::node_name(victim).c_str(),
        acked_count.load() - acked_before, answered_text.c_str());
    std::fflush(stdout);
    ASSERT_TRUE(cluster->RestartEtcdMember(leader));
    ASSERT_TRUE(cluster->RestartNode(victim));
    table.Set(victim, cluster->node(victim).base_url());
    std::this_thread::sleep_for(kLoadAfterRestart);
  }
  stop = true;
  for (std::thread& thread : load) thread.join();
  std::printf("chaos: rounds=%d write_attempts=%ld acknowledged=%zu\n", rounds,
              write_attempts.load(), acked.size());
  ASSERT_GT(acked.size(), 0u) << "no write was acknowledged at all";

  // Every node lists the same records at the same versions, and holds every
  // acknowledged write with the value that was sent.
  std::vector<HttpsClient> admins;
  for (int i = 0; i < nodes; ++i) {
    admins.push_back(cluster->node(i).CertClient(cluster->node(i).admin_cert()));
  }
  ListedSet reference;
  for (int i = 1; i < nodes; ++i) {
    ListedSet here;
    EXPECT_TRUE(WaitUntil(
        [&] {
          reference = ListAll(admins[0], kNs);
          here = ListAll(admins[i], kNs);
          return reference.ok && here.ok && here.versions == reference.versions;
        },
        std::chrono::seconds(30)))
        << ApplianceCluster::node_name(i) << " lists " << here.versions.size()
        << " records, node-1 " << reference.versions.size();
  }
  std::vector<std::string> names;
  for (const auto& [name, hash] : acked) names.push_back(name);
  for (int i = 0; i < nodes; ++i) {
    SCOPED_TRACE(ApplianceCluster::node_name(i));
    HttpsClient decrypter = cluster->node(i).CertClient(cluster->node(i).decrypter_cert());
    const std::map<std::string, std::string> hashes = DecryptedHashes(decrypter, kNs, names);
    long lost = 0, altered = 0;
    for (const auto& [name, hash] : acked) {
      auto found = hashes.find(name);
      if (found == hashes.end()) {
        if (++lost <= 5) ADD_FAILURE() << "acknowledged write " << name << " is not readable";
      } else if (found->second != hash) {
        if (++altered <= 5) ADD_FAILURE() << "acknowledged write " << name << " has another value";
      }
    }
    EXPECT_EQ(lost, 0) << "acknowledged writes lost";
    EXPECT_EQ(altered, 0) << "acknowledged writes with another value";
  }

  HttpsResponse key = admins[0].Request("GET", "/api/audit/public-key");
  ASSERT_EQ(key.status, 200) << key.body;
  EXPECT_EQ(cluster->StopAll(), 0) << "every node exits cleanly on SIGTERM";
  ShellResult verified = cluster->VerifyAuditLogs(key.body);
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_EQ(OkLines(verified.out), nodes) << verified.out;
}

}  // namespace
}  // namespace strongroom::testing_support

// cluster_bench — the several-node mode's figures in one run (issue 18),
// the real binaries end to end: 3 etcd members (Debian's etcd-server, data
// on the temporary directory's disk, never tmpfs) and 3 `strongroom serve`
// nodes in replicated mode sharing one SoftHSM token
// (tests/support/appliance_cluster.h), plus one single-node server on a
// token of its own for comparison. It measures, in this order:
//   1. audited creates/s through etcd at 8 HTTPS clients (admin client
//      certificate): all on node-1, then spread (client c writes to node
//      c % 3), then the same 8 clients on the single-node server;
//   2. decrypt req/s at 8 clients on one cluster node (node-2) against the
//      single-node server, windows alternating (BENCH_ROUNDS pairs);
//   3. replication lag over 200 writes: from node A's 201 until node B
//      answers the GET (p50, p99);
//   4. `etcdctl check perf` against the same members.
// Window length: BENCH_SECONDS (default 8). Ends with one line:
//   cluster_creates_per_s=N (8 clients on node-1)
//   cluster_creates_3_nodes_per_s=N single_creates_per_s=N cluster_decrypt_rps=N
//   single_decrypt_rps=N decrypt_ratio=R replication_lag_p50_ms=X
//   replication_lag_p99_ms=X
// A create or decrypt answered other than 201/200 is counted and printed
// (errors=N); the run fails (exit 1) if anything did not start. Run
// through `scripts/bench.sh cluster` (Release build). Load on the machine
// shows in the figures: the lines say what else ran (load1).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster_e2e/cluster_e2e_support.h"
#include "tests/support/appliance_cluster.h"

namespace strongroom::bench {
namespace {

using testing_support::ApplianceCluster;
using testing_support::HttpsClient;
using testing_support::HttpsResponse;
using testing_support::ServerProcess;
using testing_support::ServerProcessOptions;
using namespace testing_support::cluster_e2e;  // NOLINT: shared helpers

constexpr int kClients = 8;
constexpr int kDecryptValues = 100;
constexpr int kLagWrites = 200;
const std::string kNs = "c1";

int EnvInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  const int value = text != nullptr ? std::atoi(text) : 0;
  return value > 0 ? value : fallback;
}

std::string Load1() {
  std::ifstream in("/proc/loadavg");
  std::string load;
  in >> load;
  return load;
}

struct Window {
  long ok = 0;
  long errors = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? ok / seconds : 0; }
};

// RunWindow runs `clients` threads for `length`; each makes its client
// with `make(c)` and calls `one(client, c, n)` (true: answered as
// expected) until the window ends.
Window RunWindow(int clients, std::chrono::seconds length,
                 const std::function<HttpsClient(int)>& make,
                 const std::function<bool(HttpsClient&, int, long)>& one) {
  std::atomic<long> ok{0}, errors{0};
  std::vector<std::thread> threads;
  const auto started = std::chrono::steady_clock::now();
  const auto until = started + length;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      HttpsClient client = make(c);
      for (long n = 0; std::chrono::steady_clock::now() < until; ++n) {
        (one(client, c, n) ? ok : errors).fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  return {ok.load(), errors.load(), took.count()};
}

bool Create(HttpsClient& client, const std::string& name) {
  return client.Request("POST", Collection(kNs), SecureValueBody(name, "bench-value-" + name))
             .status == 201;
}

// Seed creates the values the decrypt windows read.
bool Seed(const ServerProcess& server) {
  HttpsClient admin = server.CertClient(server.admin_cert());
  for (int i = 0; i < kDecryptValues; ++i) {
    if (!Create(admin, "d-" + std::to_string(i))) return false;
  }
  return true;
}

Window Decrypts(const ServerProcess& server, std::chrono::seconds length) {
  return RunWindow(
      kClients, length, [&](int) { return server.CertClient(server.decrypter_cert()); },
      [](HttpsClient& client, int c, long n) {
        const std::string name = "d-" + std::to_string((c * 13 + n) % kDecryptValues);
        return client.Request("POST", DecryptOne(kNs, name)).status == 200;
      });
}

// RunWithoutProgress runs the shell `line` and prints its output without
// the progress bar etcdctl redraws with carriage returns ("12 / 60 ...").
// Returns its exit status (-1 if it could not run).
int RunWithoutProgress(const std::string& line) {
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    text.append(buffer, got);
  }
  const int status = ::pclose(pipe);
  std::string piece;
  for (char c : text + "\n") {
    if (c != '\r' && c != '\n') {
      piece += c;
      continue;
    }
    if (!piece.empty() && piece.find(" / ") == std::string::npos)
      std::printf("  %s\n", piece.c_str());
    piece.clear();
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int Run() {
  const std::chrono::seconds window(EnvInt("BENCH_SECONDS", 8));
  const int rounds = EnvInt("BENCH_ROUNDS", 2);
  std::printf(
      "cluster_bench: starting 3 etcd members, 3 nodes and 1 single-node server (load1 %s)\n",
      Load1().c_str());
  std::fflush(stdout);
  auto cluster = ApplianceCluster::Start({.extra_policy_files = {{"cluster.json", kPolicy}}});
  if (cluster == nullptr) {
    std::fprintf(stderr, "cluster_bench: the cluster did not start\n");
    return 1;
  }
  ServerProcessOptions single_options;
  single_options.extra_policy_files["cluster.json"] = kPolicy;
  auto single = ServerProcess::Start(single_options);
  if (single == nullptr) {
    std::fprintf(stderr, "cluster_bench: the single-node server did not start\n");
    return 1;
  }

  // 1. Creates: 8 clients on one node (its writes batch into few etcd
  // transactions), 8 spread over the 3 nodes (whose transactions contend
  // on the store digest key), 8 on the single-node server.
  const Window one_node_creates = RunWindow(
      kClients, window,
      [&](int) { return cluster->node(0).CertClient(cluster->node(0).admin_cert()); },
      [](HttpsClient& client, int c, long n) {
        return Create(client, "c1n" + std::to_string(c) + "-" + std::to_string(n));
      });
  std::printf(
      "creates through etcd, 8 clients on node-1: %.0f/s (%ld in %.1f s, errors=%ld, load1 %s)\n",
      one_node_creates.rate(), one_node_creates.ok, one_node_creates.seconds,
      one_node_creates.errors, Load1().c_str());
  const Window cluster_creates = RunWindow(
      kClients, window,
      [&](int c) {
        const ServerProcess& node = cluster->node(c % cluster->size());
        return node.CertClient(node.admin_cert());
      },
      [](HttpsClient& client, int c, long n) {
        return Create(client, "cc" + std::to_string(c) + "-" + std::to_string(n));
      });
  std::printf(
      "creates through etcd, 8 clients over 3 nodes: %.0f/s (%ld in %.1f s, errors=%ld, load1 "
      "%s)\n",
      cluster_creates.rate(), cluster_creates.ok, cluster_creates.seconds, cluster_creates.errors,
      Load1().c_str());
  const Window single_creates = RunWindow(
      kClients, window, [&](int) { return single->CertClient(single->admin_cert()); },
      [](HttpsClient& client, int c, long n) {
        return Create(client, "sc" + std::to_string(c) + "-" + std::to_string(n));
      });
  std::printf("creates single-node, 8 clients: %.0f/s (%ld in %.1f s, errors=%ld, load1 %s)\n",
              single_creates.rate(), single_creates.ok, single_creates.seconds,
              single_creates.errors, Load1().c_str());
  std::fflush(stdout);

  // 2. Decrypts on node-2 against the single-node server, alternating.
  if (!Seed(cluster->node(0)) || !Seed(*single)) {
    std::fprintf(stderr, "cluster_bench: seeding the decrypt values failed\n");
    return 1;
  }
  {
    HttpsClient node2 = cluster->node(1 % cluster->size())
                            .CertClient(cluster->node(1 % cluster->size()).admin_cert());
    if (!WaitUntil([&] {
          return ListAll(node2, kNs).versions.contains("d-" + std::to_string(kDecryptValues - 1));
        })) {
      std::fprintf(stderr, "cluster_bench: node-2 never saw the seeded values\n");
      return 1;
    }
  }
  Window cluster_decrypts, single_decrypts;
  for (int round = 0; round < rounds; ++round) {
    for (int side = 0; side < 2; ++side) {
      const bool on_cluster = (round + side) % 2 == 0;
      const Window w = Decrypts(on_cluster ? cluster->node(1 % cluster->size()) : *single, window);
      Window& total = on_cluster ? cluster_decrypts : single_decrypts;
      total.ok += w.ok;
      total.errors += w.errors;
      total.seconds += w.seconds;
      std::printf("decrypts %s, 8 clients: %.0f req/s (errors=%ld, load1 %s)\n",
                  on_cluster ? "cluster node-2" : "single-node", w.rate(), w.errors,
                  Load1().c_str());
      std::fflush(stdout);
    }
  }

  // 3. Replication lag.
  std::vector<HttpsClient> admins;
  for (int i = 0; i < cluster->size(); ++i) {
    admins.push_back(cluster->node(i).CertClient(cluster->node(i).admin_cert()));
  }
  std::vector<double> lag_ms;
  long lag_errors = 0;
  for (int w = 0; w < kLagWrites; ++w) {
    const int a = w % cluster->size();
    const int b = (w + 1) % cluster->size();
    const std::string name = "lag-" + std::to_string(w);
    if (!Create(admins[a], name)) {
      ++lag_errors;
      continue;
    }
    const auto written = std::chrono::steady_clock::now();
    if (!WaitUntil(
            [&] {
              for (int spin = 0; spin < 50; ++spin) {
                if (admins[b].Request("GET", Item(kNs, name)).status == 200) return true;
              }
              return false;
            },
            std::chrono::seconds(10))) {
      ++lag_errors;
      continue;
    }
    lag_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - written)
            .count());
  }
  std::printf("replication lag over %zu writes: p50=%.2f ms p99=%.2f ms max=%.2f ms (errors=%ld)\n",
              lag_ms.size(), Percentile(lag_ms, 50), Percentile(lag_ms, 99),
              Percentile(lag_ms, 100), lag_errors);
  std::fflush(stdout);

  // 4. etcdctl check perf against the same members (about a minute).
  const cluster::EtcdClientOptions etcd = cluster->etcd().ClientOptions();
  std::string endpoints;
  for (const std::string& endpoint : etcd.endpoints) {
    endpoints += (endpoints.empty() ? "" : ",") + endpoint;
  }
  const std::string perf = "ETCDCTL_API=3 timeout 120 etcdctl --endpoints=" + endpoints +
                           " --cacert='" + etcd.tls.ca_file + "' --cert='" + etcd.tls.cert_file +
                           "' --key='" + etcd.tls.key_file + "' check perf 2>&1";
  std::printf("etcdctl check perf (load1 %s):\n", Load1().c_str());
  std::fflush(stdout);
  const int perf_status = RunWithoutProgress(perf);

  const double ratio =
      single_decrypts.rate() > 0 ? cluster_decrypts.rate() / single_decrypts.rate() : 0;
  std::printf(
      "cluster_creates_per_s=%.0f cluster_creates_3_nodes_per_s=%.0f single_creates_per_s=%.0f "
      "cluster_decrypt_rps=%.0f "
      "single_decrypt_rps=%.0f decrypt_ratio=%.2f replication_lag_p50_ms=%.2f "
      "replication_lag_p99_ms=%.2f errors=%ld etcd_check_perf_exit=%d\n",
      one_node_creates.rate(), cluster_creates.rate(), single_creates.rate(),
      cluster_decrypts.rate(), single_decrypts.rate(), ratio, Percentile(lag_ms, 50),
      Percentile(lag_ms, 99),
      one_node_creates.errors + cluster_creates.errors + single_creates.errors +
          cluster_decrypts.errors + single_decrypts.errors + lag_errors,
      perf_status);
  // Stop the servers on this thread (their children die with it).
  single.reset();
  cluster.reset();
  return 0;
}

}  // namespace
}  // namespace strongroom::bench

int main() { return strongroom::bench::Run(); }

// create_load_bench — audited SecureValue creates per second over HTTPS at
// 8 concurrent clients, the real `strongroom` binary end to end (TLS,
// authentication by the admin client certificate, authorization, envelope
// encryption through the SoftHSM token's cached data key, the audit record
// made durable before the LMDB commit, SPEC section 8). Two servers run side
// by side: one with group commit (the default), one with auditing forced to
// one fdatasync per record (`[audit] group_commit = false`). Their windows
// alternate, twice each, so a burst of load on the machine does not land on
// one side only. After the runs one line compares them:
//   audited_creates_per_s=N fsync_per_record_creates_per_s=N ratio=R
// Any answer other than 201 fails the run. Run through `scripts/bench.sh
// creates` (Release build).
//
// The servers come from tests/support's ServerProcess (a SoftHSM token, a
// test PKI and `strongroom init` in a private temporary directory); they
// are stopped and their directories removed when the run ends.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.h"

namespace strongroom::bench {
namespace {

using testing_support::HttpsClient;
using testing_support::ServerProcess;
using testing_support::ServerProcessOptions;

constexpr int kClients = 8;
constexpr auto kWindow = std::chrono::seconds(4);

std::string CreateBody(const std::string& name) {
  return R"({"apiVersion":"secret.grafana.app/v1beta1","kind":"SecureValue","metadata":{"name":")" +
         name +
         R"("},"spec":{"description":"bench","value":"bench-value-0123456789abcdef","decrypters":["bench-svc"]}})";
}

const std::string kCollection = "/apis/secret.grafana.app/v1beta1/namespaces/bench/securevalues";

struct Servers {
  std::unique_ptr<ServerProcess> group;  // group commit
  std::unique_ptr<ServerProcess> each;   // one fdatasync per record
};

// TheServers starts both servers once, for every benchmark of the run.
Servers& TheServers() {
  static Servers servers = [] {
    Servers s;
    s.group = ServerProcess::Start();
    ServerProcessOptions each;
    each.extra_config_text = "[audit]\ngroup_commit = false\n";
    s.each = ServerProcess::Start(each);
    return s;
  }();
  return servers;
}

struct Window {
  long created = 0;
  long other = 0;  // answers other than 201, transfer errors included
  double seconds = 0;
};

// RunWindow has kClients clients, each on its own keep-alive connection
// with the admin certificate, create unique names for kWindow.
Window RunWindow(ServerProcess& server, const std::string& prefix) {
  std::atomic<long> created{0}, other{0};
  std::vector<std::thread> clients;
  const auto started = std::chrono::steady_clock::now();
  const auto until = started + kWindow;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpsClient client = server.CertClient(server.admin_cert());
      for (long n = 0; std::chrono::steady_clock::now() < until; ++n) {
        const std::string name = prefix + "-c" + std::to_string(c) + "-" + std::to_string(n);
        if (client.Request("POST", kCollection, CreateBody(name)).status == 201) {
          created.fetch_add(1, std::memory_order_relaxed);
        } else {
          other.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  return {created.load(), other.load(), took.count()};
}

double g_rate[2] = {0, 0};  // [0] one fsync per record, [1] group commit
long g_windows[2] = {0, 0};
double g_sum[2] = {0, 0};

void BM_AuditedCreatesOverHttps(benchmark::State& state) {
  const bool group_commit = state.range(0) == 1;
  Servers& servers = TheServers();
  ServerProcess* server = group_commit ? servers.group.get() : servers.each.get();
  if (server == nullptr) {
    state.SkipWithError("the server did not start");
    return;
  }
  static int round = 0;
  Window total;
  for (auto _ : state) {
    Window window = RunWindow(*server, "w" + std::to_string(round++));
    state.SetIterationTime(window.seconds);
    total.created += window.created;
    total.other += window.other;
    total.seconds += window.seconds;
  }
  if (total.other > 0) {
    state.SkipWithError("a create was not answered 201");
    return;
  }
  const double rate = total.created / total.seconds;
  state.counters["creates_per_s"] = rate;
  g_sum[group_commit] += rate;
  g_windows[group_commit] += 1;
  g_rate[group_commit] = g_sum[group_commit] / static_cast<double>(g_windows[group_commit]);
}

// Group commit and one fsync per record, alternating, twice each.
BENCHMARK(BM_AuditedCreatesOverHttps)
    ->ArgName("group_commit")
    ->Arg(1)
    ->Arg(0)
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace strongroom::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  using strongroom::bench::g_rate;
  if (g_rate[0] <= 0 || g_rate[1] <= 0) {
    std::fprintf(stderr, "create_load_bench: a run failed; no summary\n");
    return 1;
  }
  std::printf("audited_creates_per_s=%.0f fsync_per_record_creates_per_s=%.0f ratio=%.2f\n",
              g_rate[1], g_rate[0], g_rate[1] / g_rate[0]);
  // Stop both servers before static destruction (their children are
  // killed if this thread exits first).
  strongroom::bench::TheServers() = {};
  return 0;
}

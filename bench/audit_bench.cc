// audit_bench — what auditing costs a write: audited store writes (the path
// a SecureValue create takes after its checks: an audit record made durable
// before the LMDB commit, SPEC section 8) from 8 concurrent clients, with
// group commit (one fdatasync covers many records) and with auditing forced
// to one fdatasync per record, side by side in one run. A real SoftHSM token
// signs the checkpoints; a real LMDB store commits the writes.
// After the runs one line compares them:
//   audited_writes_per_s=N fsync_per_record_writes_per_s=N ratio=R
// Run through `scripts/bench.sh micro` (Release build).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "audit/audit.h"
#include "base/secure_arena.h"
#include "bench/bench_support.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace strongroom::bench {
namespace {

constexpr int kClients = 8;
constexpr double kMinSeconds = 2.0;

// AuditedStore is a token, a store with its keyring, and an audit log
// attached to the store, in one temporary directory.
// SoftHSM reads its configuration once per process: one token for both.
BenchTokenDir* SharedToken() {
  static std::unique_ptr<BenchTokenDir> token = BenchTokenDir::Create("bench-audit");
  return token.get();
}

struct AuditedStore {
  std::unique_ptr<crypto::LocalTokenService> service;  // on the shared token
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<audit::AuditLog> log;
  std::atomic<std::uint64_t> next{0};

  static std::unique_ptr<AuditedStore> Create(bool group_commit) {
    auto s = std::make_unique<AuditedStore>();
    BenchTokenDir* shared = SharedToken();
    if (shared == nullptr) return nullptr;
    s->service = std::make_unique<crypto::LocalTokenService>(*shared->token);
    crypto::TokenService& token = *s->service;
    const std::string data_dir = shared->dir + (group_commit ? "/group" : "/each");
    storage::StoreOptions store_options;
    store_options.data_dir = data_dir;
    auto store = storage::Store::Open(store_options);
    if (!store.has_value()) return nullptr;
    s->store = std::move(*store);
    if (!crypto::Keyring::Initialize(token, *s->store).has_value()) return nullptr;
    auto keyring = crypto::Keyring::Open(token, *s->store);
    if (!keyring.has_value()) return nullptr;
    s->keyring = std::move(*keyring);
    auto key = token.GetAuditPublicKey();
    if (!key.has_value()) return nullptr;
    crypto::Token* signing = shared->token.get();
    audit::AuditLogOptions options;
    options.dir = data_dir + "/audit";
    options.group_commit = group_commit;
    auto log = audit::AuditLog::Open(
        options,
        audit::NewCheckpointSigner(
            key->pem, key->fingerprint_sha256,
            [signing](ByteSpan m) { return crypto::SignWithAuditKey(*signing, m); }),
        audit::StoreStateOf(*s->store), nullptr, *Clock::Real());
    if (!log.has_value()) return nullptr;
    s->log = std::move(*log);
    s->log->AttachTo(*s->store);
    return s;
  }

  ~AuditedStore() {
    if (log) (void)log->Close();
    log.reset();
    keyring.reset();
    store.reset();
  }

  // Create writes one audited record, as a create request would.
  bool Create() {
    std::uint64_t n = next.fetch_add(1);
    std::string name = "value-" + std::to_string(n);
    std::string tag = "bench-" + std::to_string(n);
    audit::Event event;
    event.action = "secret.securevalues:create";
    event.actor = audit::Actor{"token", "bench", "bench-token", "", "127.0.0.1"};
    event.resource = audit::Resource{"bench", "securevalues", name};
    event.http_status = 201;
    event.reason = "ok";
    event.request_id = tag;
    auto pending = log->ExpectWrite(tag, std::move(event));
    std::string value(200, 'x');
    auto written = store->Write(tag, [&](storage::WriteTxn& txn) -> Status {
      return txn.Put(storage::Table::kSecureValues, "bench/" + name, AsBytes(value)).has_value()
                 ? Status::Ok()
                 : Status::Internal("put failed");
    });
    log->Forget(pending);
    return written.has_value();
  }
};

std::mutex setup_mutex;
std::map<bool, std::unique_ptr<AuditedStore>> stores;

AuditedStore* StoreFor(bool group_commit) {
  std::lock_guard lock(setup_mutex);
  auto& s = stores[group_commit];
  if (!s) s = AuditedStore::Create(group_commit);
  return s.get();
}

void RunAuditedCreates(benchmark::State& state, bool group_commit) {
  AuditedStore* s = StoreFor(group_commit);
  if (s == nullptr) {
    state.SkipWithError("cannot set up a token, store and audit log");
    return;
  }
  for (auto _ : state) {
    if (!s->Create()) {
      state.SkipWithError("an audited write failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AuditedCreateGroupCommit(benchmark::State& state) { RunAuditedCreates(state, true); }
void BM_AuditedCreateFsyncPerRecord(benchmark::State& state) { RunAuditedCreates(state, false); }

BENCHMARK(BM_AuditedCreateGroupCommit)->Threads(kClients)->UseRealTime()->MinTime(kMinSeconds);
BENCHMARK(BM_AuditedCreateFsyncPerRecord)->Threads(kClients)->UseRealTime()->MinTime(kMinSeconds);

// SummaryReporter prints the table and then the comparison line.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rates_[run.run_name.function_name] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    double group = rates_["BM_AuditedCreateGroupCommit"];
    double each = rates_["BM_AuditedCreateFsyncPerRecord"];
    if (group > 0 && each > 0) {
      std::printf("audited_writes_per_s=%.0f fsync_per_record_writes_per_s=%.0f ratio=%.2f\n",
                  group, each, group / each);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace strongroom::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!strongroom::bench::InstallBenchArena()) return 2;
  strongroom::bench::SummaryReporter reporter(benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  strongroom::bench::stores.clear();
  return 0;
}

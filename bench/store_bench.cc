// store_bench — what the runtime tag index (StoreOptions::tag_index) costs:
// its memory per record, and a record read (BeginRead + ReadTxn::Get of one
// secure value, what a decrypt request does) with the index armed against
// the same read without it, side by side in one run.
//
// Two stores with the same kRecords secure-value-sized records (keys like
// "team-042/secret-004242", 320-byte values), the real HMAC-SHA256 record
// authenticator; one opened with tag_index (armed by VerifyIntegrity, as at
// server start), one without. Memory is the heap the armed index keeps
// (mallinfo2 before/after arming, the scan's temporaries freed) and the
// resident-set growth.
// After the runs, one line per thread count compares the reads:
//   tag_index_records=N tag_index_heap_bytes=N bytes_per_record=N rss_bytes_per_record=N
//   threads=T get_unarmed_ops=N get_armed_ops=N ratio=R
// Run: build the store_bench target in Release (scripts/bench.sh micro
// builds crypto_bench and audit_bench; see bench/CMakeLists.txt).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "bench/bench_support.h"
#include "crypto/record_mac.h"
#include "storage/storage.h"

namespace strongroom::bench {
namespace {

constexpr int kRecords = 100'000;
constexpr int kRecordsPerWrite = 1'000;
constexpr std::size_t kValueBytes = 320;
constexpr double kMinSeconds = 0.2;

void Check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "store_bench: %s failed\n", what.c_str());
  std::exit(2);
}

std::string KeyOf(int i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "team-%03d/secret-%06d", i % 1000, i);
  return buf;
}

std::uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

struct BenchStore {
  std::string dir;
  std::unique_ptr<storage::Store> store;
  ~BenchStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<BenchStore> MakeStore(bool tag_index,
                                      std::shared_ptr<const storage::RecordAuthenticator> mac) {
  auto out = std::make_unique<BenchStore>();
  char pattern[] = "/tmp/strongroom-bench-store-XXXXXX";
  Check(mkdtemp(pattern) != nullptr, "mkdtemp");
  out->dir = pattern;
  storage::StoreOptions options;
  options.data_dir = out->dir + "/data";
  options.tag_index = tag_index;
  auto store = storage::Store::Open(options);
  Check(store.has_value(), "Store::Open");
  out->store = std::move(*store);
  out->store->SetAuthenticator(std::move(mac));
  Bytes value(kValueBytes);
  Check(RAND_bytes(value.data(), static_cast<int>(value.size())) == 1, "RAND_bytes");
  for (int first = 0; first < kRecords; first += kRecordsPerWrite) {
    auto written = out->store->Write("fill", [&](storage::WriteTxn& txn) -> Status {
      for (int i = first; i < first + kRecordsPerWrite; ++i) {
        auto put = txn.Put(storage::Table::kSecureValues, KeyOf(i), value);
        if (!put.has_value()) return put.error();
      }
      return Status::Ok();
    });
    Check(written.has_value(), "fill");
  }
  return out;
}

struct Stores {
  std::unique_ptr<BenchStore> unarmed;
  std::unique_ptr<BenchStore> armed;
  std::vector<std::string> keys;
};

Stores* TheStores() {
  static Stores* stores = [] {
    auto* s = new Stores;
    auto key = SecretBytes::Allocate(32);
    Check(key.has_value(), "allocate the MAC key");
    Check(RAND_bytes(key->RevealMutableSecret().data(), 32) == 1, "RAND_bytes");
    auto mac = crypto::HmacRecordAuthenticator::Create(std::move(*key));
    Check(mac.has_value(), "HmacRecordAuthenticator::Create");
    s->unarmed = MakeStore(false, *mac);
    s->armed = MakeStore(true, *mac);
    // Same scan on both, so only the index differs in what stays allocated.
    Check(s->unarmed->store->VerifyIntegrity().ok(), "VerifyIntegrity");
    malloc_trim(0);
    const std::size_t heap_before = mallinfo2().uordblks;
    const std::uint64_t rss_before = ResidentBytes();
    Check(s->armed->store->VerifyIntegrity().ok(), "VerifyIntegrity (arming)");
    malloc_trim(0);
    const std::size_t heap_after = mallinfo2().uordblks;
    const std::uint64_t rss_after = ResidentBytes();
    auto size = s->armed->store->tag_index_size();
    Check(size.armed && size.live_records == kRecords, "arming the tag index");
    const double heap = static_cast<double>(heap_after) - static_cast<double>(heap_before);
    const double rss = static_cast<double>(rss_after) - static_cast<double>(rss_before);
    std::printf(
        "tag_index_records=%llu tag_index_heap_bytes=%.0f bytes_per_record=%.1f "
        "rss_bytes_per_record=%.1f\n",
        static_cast<unsigned long long>(size.live_records), heap, heap / kRecords, rss / kRecords);
    std::fflush(stdout);
    for (int i = 0; i < kRecords; ++i) s->keys.push_back(KeyOf(i));
    return s;
  }();
  return stores;
}

// Reads walk the keys with a stride coprime to kRecords, so consecutive
// reads touch unrelated index shards and LMDB pages.
void ReadLoop(benchmark::State& state, storage::Store& store,
              const std::vector<std::string>& keys) {
  std::size_t next = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    next = (next + 7919) % keys.size();
    auto read = store.BeginRead();
    if (!read.has_value()) {
      state.SkipWithError("BeginRead failed");
      break;
    }
    auto record = read->Get(storage::Table::kSecureValues, keys[next]);
    if (!record.has_value()) {
      state.SkipWithError("Get failed");
      break;
    }
    benchmark::DoNotOptimize(record->value.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GetIndexNotArmed(benchmark::State& state) {
  Stores* s = TheStores();
  ReadLoop(state, *s->unarmed->store, s->keys);
}

void BM_GetIndexArmed(benchmark::State& state) {
  Stores* s = TheStores();
  ReadLoop(state, *s->armed->store, s->keys);
}

BENCHMARK(BM_GetIndexNotArmed)->MinTime(kMinSeconds)->Threads(1)->Threads(2);
BENCHMARK(BM_GetIndexArmed)->MinTime(kMinSeconds)->Threads(1)->Threads(2);

class SummaryReporter : public RateReporter {
 public:
  using RateReporter::RateReporter;

  void Finalize() override {
    ConsoleReporter::Finalize();
    for (int threads : {1, 2}) {
      double unarmed = Rate("BM_GetIndexNotArmed", threads);
      double armed = Rate("BM_GetIndexArmed", threads);
      if (unarmed <= 0 || armed <= 0) continue;
      std::printf("threads=%d get_unarmed_ops=%.0f get_armed_ops=%.0f ratio=%.3f\n", threads,
                  unarmed, armed, armed / unarmed);
    }
    std::fflush(stdout);
  }
};

}  // namespace
}  // namespace strongroom::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The record-MAC key lives in the secure arena, as in the appliance.
  if (!strongroom::bench::InstallBenchArena()) return 2;
  strongroom::bench::TheStores();  // fill and arm before any timing
  strongroom::bench::SummaryReporter reporter(isatty(STDOUT_FILENO)
                                                  ? benchmark::ConsoleReporter::OO_ColorTabular
                                                  : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  delete strongroom::bench::TheStores();
  return 0;
}

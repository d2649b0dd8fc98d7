// tokend_bench — what the privilege boundary (issue 17) costs the two token
// operations on the appliance's paths: a data-key unwrap (a data-key cache
// miss) and a checkpoint signature, each directly on the token
// (crypto::LocalTokenService) and through `strongroom tokend`'s unix socket
// (tokend::ConnectTokenService against a TokendServer on the same SoftHSM
// token), pairs run back to back in one run. The server runs in this
// process on threads of its own: the socket round trip and the framing are
// what is measured, as between two processes. Rates are by wall-clock time
// (UseRealTime): through tokend the work is on the server's thread, not the
// caller's CPU. Ends with
//   unwrap_direct_ops=N unwrap_tokend_ops=N ratio=R
//   sign_direct_ops=N sign_tokend_ops=N ratio=R
// Run through `scripts/bench.sh tokend` (Release build).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>

#include "bench/bench_support.h"
#include "crypto/token_service.h"
#include "tokend/tokend.h"

namespace strongroom::bench {
namespace {

constexpr double kMinSeconds = 2.0;

struct Setup {
  std::unique_ptr<BenchTokenDir> token;
  std::unique_ptr<crypto::LocalTokenService> direct;
  std::unique_ptr<tokend::TokendServer> server;
  std::unique_ptr<crypto::TokenService> remote;
  Bytes wrapped;

  static Setup* Get() {
    static Setup* instance = Create();
    return instance;
  }

  static Setup* Create() {
    auto s = new Setup();
    s->token = BenchTokenDir::Create("bench-tokend");
    if (s->token == nullptr) return nullptr;
    s->direct = std::make_unique<crypto::LocalTokenService>(*s->token->token);
    tokend::TokendServerOptions options;
    options.socket_path = s->token->dir + "/tokend.sock";
    options.allowed_uid = ::getuid();
    auto server = tokend::TokendServer::Start(options, *s->direct);
    if (!server.has_value()) return nullptr;
    s->server = std::move(*server);
    auto remote = tokend::ConnectTokenService({.socket_path = options.socket_path});
    if (!remote.has_value()) return nullptr;
    s->remote = std::move(*remote);
    if (!s->direct->GenerateKek("kek-bench").ok()) return nullptr;
    if (!s->direct->EnsureAuditKeyPair().has_value()) return nullptr;
    auto generated = s->direct->GenerateWrappedKey("kek-bench", crypto::WrappedKeyType::kAes256);
    if (!generated.has_value()) return nullptr;
    s->wrapped = std::move(generated->wrapped);
    return s;
  }

  static void Destroy() {
    Setup* s = Get();
    if (s == nullptr) return;
    s->remote.reset();
    s->server.reset();
    s->direct.reset();
    delete s;  // removes the temporary token
  }
};

crypto::TokenService* Service(Setup* s, bool through_tokend) {
  return through_tokend ? s->remote.get() : s->direct.get();
}

void Unwrap(benchmark::State& state, bool through_tokend) {
  Setup* s = Setup::Get();
  if (s == nullptr) return state.SkipWithError("cannot set up the token and tokend");
  crypto::TokenService* service = Service(s, through_tokend);
  for (auto _ : state) {
    auto key = service->UnwrapKey("kek-bench", s->wrapped, crypto::WrappedKeyType::kAes256);
    if (!key.has_value()) return state.SkipWithError("unwrap failed");
    benchmark::DoNotOptimize(key->RevealSecret().data());
  }
  state.SetItemsProcessed(state.iterations());
}

void Sign(benchmark::State& state, bool through_tokend) {
  Setup* s = Setup::Get();
  if (s == nullptr) return state.SkipWithError("cannot set up the token and tokend");
  crypto::TokenService* service = Service(s, through_tokend);
  // About the size of a checkpoint's signed text.
  const std::string message(300, 'c');
  for (auto _ : state) {
    auto signature = service->SignWithAuditKey(AsBytes(message));
    if (!signature.has_value()) return state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UnwrapDirect(benchmark::State& state) { Unwrap(state, false); }
void BM_UnwrapTokend(benchmark::State& state) { Unwrap(state, true); }
void BM_SignDirect(benchmark::State& state) { Sign(state, false); }
void BM_SignTokend(benchmark::State& state) { Sign(state, true); }
BENCHMARK(BM_UnwrapDirect)->MinTime(kMinSeconds)->UseRealTime();
BENCHMARK(BM_UnwrapTokend)->MinTime(kMinSeconds)->UseRealTime();
BENCHMARK(BM_SignDirect)->MinTime(kMinSeconds)->UseRealTime();
BENCHMARK(BM_SignTokend)->MinTime(kMinSeconds)->UseRealTime();

class SummaryReporter : public RateReporter {
 public:
  using RateReporter::RateReporter;
  void Finalize() override {
    ConsoleReporter::Finalize();
    PrintPair("unwrap", "BM_UnwrapDirect", "BM_UnwrapTokend");
    PrintPair("sign", "BM_SignDirect", "BM_SignTokend");
  }

 private:
  void PrintPair(const char* what, const std::string& direct, const std::string& tokend) {
    const double d = Rate(direct), t = Rate(tokend);
    if (d <= 0 || t <= 0) return;
    std::printf("%s_direct_ops=%.0f %s_tokend_ops=%.0f ratio=%.3f\n", what, d, what, t, t / d);
    std::fflush(stdout);
  }
};

}  // namespace
}  // namespace strongroom::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!strongroom::bench::InstallBenchArena()) return 2;
  strongroom::bench::SummaryReporter reporter(isatty(STDOUT_FILENO)
                                                  ? benchmark::ConsoleReporter::OO_ColorTabular
                                                  : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  strongroom::bench::Setup::Destroy();
  return 0;
}

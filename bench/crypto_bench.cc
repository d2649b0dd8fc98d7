// crypto_bench — what the envelope layer costs on top of the AES-256-GCM it
// is built on, for a 1 KiB value with its data key already in memory.
//
// Each envelope benchmark has a bare OpenSSL twin that does the least work
// the same cryptography can be done with: one EVP_CIPHER_CTX and a
// prefetched cipher reused across operations, a 12-byte IV, an AAD of the
// envelope's length, the tag set and checked. The key is set on every
// operation, as the envelope must (each call may name another data key).
// The seal pair differs by one more thing: the envelope draws a random nonce
// (RAND_bytes), the bare twin counts; OpenSSL 3.0's DRBG call costs about as
// much as the whole 1 KiB encryption.
// After the runs, one summary line per pair compares them within the same
// run (figures from different runs on a shared 2-core machine are not
// comparable):
//   envelope_open_ops=N bare_evp_decrypt_ops=N ratio=R
//   envelope_seal_ops=N bare_evp_encrypt_ops=N ratio=R
// Run through `scripts/bench.sh micro` (Release build).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/openssl_ptr.h"
#include "base/secret_bytes.h"
#include "base/secure_arena.h"
#include "bench/bench_support.h"
#include "crypto/envelope.h"
#include "crypto/kek.h"
#include "crypto/token.h"

namespace strongroom::crypto {
namespace {

constexpr std::size_t kValueBytes = 1024;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kIvBytes = 12;
constexpr double kMinSeconds = 0.1;  // short runs, many interleaved repetitions (noisy VMs)

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "crypto_bench: %s failed\n", what);
  std::exit(2);
}

// BenchData is built on first use, after main() installed the arena.
struct BenchData {
  SecretBytes data_key;
  Bytes plaintext;
  EnvelopeContext context;
  Bytes envelope;
  // What the bare twins authenticate: as long as the envelope's AAD
  // (domain, version, algorithm, four length-prefixed strings, generation).
  Bytes aad;
};

const BenchData& Data() {
  static const BenchData* data = [] {
    auto* d = new BenchData;
    StatusOr<SecretBytes> key = SecretBytes::Allocate(32);
    Check(key.has_value(), "allocate the data key");
    d->data_key = std::move(*key);
    Check(RAND_bytes(d->data_key.RevealMutableSecret().data(), 32) == 1, "RAND_bytes");
    d->plaintext.resize(kValueBytes);
    Check(RAND_bytes(d->plaintext.data(), static_cast<int>(kValueBytes)) == 1, "RAND_bytes");
    d->context.namespace_name = "team-payments";
    d->context.name = "db-password";
    d->context.uid = "4f0c5e2a-8d1b-4c6e-9a57-1b2c3d4e5f60";
    d->context.generation = 3;
    d->context.data_key_id = "team-payments.2025-01-31.1";
    StatusOr<Bytes> envelope = SealEnvelope(d->data_key, d->context, d->plaintext);
    Check(envelope.has_value(), "seal the benchmark envelope");
    d->envelope = std::move(*envelope);
    const EnvelopeContext& c = d->context;
    d->aad.assign(std::string_view("strongroom.envelope").size() + 2 + 4 + c.namespace_name.size() +
                      4 + c.name.size() + 4 + c.uid.size() + 8 + 4 + c.data_key_id.size(),
                  0x61);
    return d;
  }();
  return *data;
}

void CountOps(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kValueBytes));
}

// BareContext is a context that has chosen AES-256-GCM once, so the loops
// re-key it without OpenSSL resetting and re-allocating its state.
struct BareContext {
  EvpCipherPtr cipher{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
  EvpCipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
  bool Ready(int enc) {
    return cipher != nullptr && ctx != nullptr &&
           EVP_CipherInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, enc, nullptr) == 1;
  }
};

void BM_BareEvpAes256GcmDecrypt(benchmark::State& state) {
  const BenchData& d = Data();
  const std::uint8_t* key = d.data_key.RevealSecret().data();
  std::uint8_t iv[kIvBytes] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::uint8_t tag[kTagBytes];
  Bytes ciphertext(kValueBytes), out(kValueBytes);
  BareContext bare;
  int len = 0;
  if (!bare.Ready(1) || EVP_EncryptInit_ex2(bare.ctx.get(), nullptr, key, iv, nullptr) != 1 ||
      EVP_EncryptUpdate(bare.ctx.get(), nullptr, &len, d.aad.data(),
                        static_cast<int>(d.aad.size())) != 1 ||
      EVP_EncryptUpdate(bare.ctx.get(), ciphertext.data(), &len, d.plaintext.data(),
                        static_cast<int>(kValueBytes)) != 1 ||
      EVP_EncryptFinal_ex(bare.ctx.get(), out.data(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(bare.ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagBytes, tag) != 1 ||
      !bare.Ready(0)) {
    state.SkipWithError("EVP set-up failed");
    return;
  }
  EVP_CIPHER_CTX* ctx = bare.ctx.get();
  for (auto _ : state) {
    int final_len = 0;
    if (EVP_DecryptInit_ex2(ctx, nullptr, key, iv, nullptr) != 1 ||
        EVP_DecryptUpdate(ctx, nullptr, &len, d.aad.data(), static_cast<int>(d.aad.size())) != 1 ||
        EVP_DecryptUpdate(ctx, out.data(), &len, ciphertext.data(),
                          static_cast<int>(kValueBytes)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, out.data() + len, &final_len) != 1) {
      state.SkipWithError("EVP decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  CountOps(state);
}

void BM_EnvelopeOpen(benchmark::State& state) {
  const BenchData& d = Data();
  for (auto _ : state) {
    StatusOr<SecretBytes> value = OpenEnvelope(d.data_key, d.context, d.envelope);
    if (!value.has_value()) {
      state.SkipWithError(value.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(value->RevealSecret().data());
  }
  CountOps(state);
}

void BM_BareEvpAes256GcmEncrypt(benchmark::State& state) {
  const BenchData& d = Data();
  const std::uint8_t* key = d.data_key.RevealSecret().data();
  // A counter IV: unique per operation, as GCM requires, without the RNG
  // call the envelope makes for its random nonce.
  std::uint8_t iv[kIvBytes] = {};
  std::uint64_t counter = 0;
  std::uint8_t tag[kTagBytes];
  Bytes out(kValueBytes);
  BareContext bare;
  if (!bare.Ready(1)) {
    state.SkipWithError("EVP set-up failed");
    return;
  }
  EVP_CIPHER_CTX* ctx = bare.ctx.get();
  for (auto _ : state) {
    ++counter;
    for (int i = 0; i < 8; ++i) iv[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
    int len = 0, final_len = 0;
    if (EVP_EncryptInit_ex2(ctx, nullptr, key, iv, nullptr) != 1 ||
        EVP_EncryptUpdate(ctx, nullptr, &len, d.aad.data(), static_cast<int>(d.aad.size())) != 1 ||
        EVP_EncryptUpdate(ctx, out.data(), &len, d.plaintext.data(),
                          static_cast<int>(kValueBytes)) != 1 ||
        EVP_EncryptFinal_ex(ctx, out.data() + len, &final_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagBytes, tag) != 1) {
      state.SkipWithError("EVP encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag);
    benchmark::ClobberMemory();
  }
  CountOps(state);
}

void BM_EnvelopeSeal(benchmark::State& state) {
  const BenchData& d = Data();
  for (auto _ : state) {
    StatusOr<Bytes> envelope = SealEnvelope(d.data_key, d.context, d.plaintext);
    if (!envelope.has_value()) {
      state.SkipWithError(envelope.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(envelope->data());
  }
  CountOps(state);
}

// Pairs are registered next to each other so they run back to back.
BENCHMARK(BM_BareEvpAes256GcmDecrypt)->MinTime(kMinSeconds);
BENCHMARK(BM_EnvelopeOpen)->MinTime(kMinSeconds);
BENCHMARK(BM_BareEvpAes256GcmEncrypt)->MinTime(kMinSeconds);
BENCHMARK(BM_EnvelopeSeal)->MinTime(kMinSeconds);

// BenchToken is a throw-away SoftHSMv2 token in a private temporary
// directory (its own SOFTHSM2_CONF, never the system token directory), with
// one KEK and one wrapped data key.
struct BenchToken {
  std::unique_ptr<bench::BenchTokenDir> owned;
  Bytes wrapped;
  Token* token = nullptr;

  // Get creates the token on first use (only when an unwrap benchmark runs).
  static BenchToken* Get() {
    static bool tried = false;
    if (!tried) {
      tried = true;
      instance = Create();
    }
    return instance;
  }
  static inline BenchToken* instance = nullptr;

  static BenchToken* Create() {
    auto* t = new BenchToken();
    t->owned = bench::BenchTokenDir::Create("strongroom-bench");
    if (t->owned == nullptr) return nullptr;
    t->token = t->owned->token.get();
    if (!GenerateKek(*t->token, "kek-bench").ok()) return nullptr;
    auto generated = GenerateWrappedKey(*t->token, "kek-bench", WrappedKeyType::kAes256);
    if (!generated.has_value()) return nullptr;
    t->wrapped = std::move(generated->wrapped);
    return t;
  }
};

// BM_TokenUnwrapDataKey is what a data-key cache miss costs: find the KEK,
// C_UnwrapKey into a session object, read its value into the arena,
// C_DestroyObject — through SoftHSM.
void BM_TokenUnwrapDataKey(benchmark::State& state) {
  BenchToken* t = BenchToken::Get();
  if (t == nullptr) {
    state.SkipWithError("cannot create a SoftHSM token (is softhsm2 installed?)");
    return;
  }
  for (auto _ : state) {
    auto key = UnwrapKey(*t->token, "kek-bench", t->wrapped, WrappedKeyType::kAes256);
    if (!key.has_value()) {
      state.SkipWithError("unwrap failed");
      return;
    }
    benchmark::DoNotOptimize(key->RevealSecret().data());
  }
  CountOps(state);
}
BENCHMARK(BM_TokenUnwrapDataKey)->MinTime(kMinSeconds);

// SummaryReporter prints the usual console table and, at the end, one line
// per (envelope, bare EVP) pair measured in this run. With repetitions it
// uses the median.
class SummaryReporter : public bench::RateReporter {
 public:
  using RateReporter::RateReporter;

  void Finalize() override {
    ConsoleReporter::Finalize();
    PrintPair("envelope_open_ops", "BM_EnvelopeOpen", "bare_evp_decrypt_ops",
              "BM_BareEvpAes256GcmDecrypt");
    PrintPair("envelope_seal_ops", "BM_EnvelopeSeal", "bare_evp_encrypt_ops",
              "BM_BareEvpAes256GcmEncrypt");
    double unwrap = Rate("BM_TokenUnwrapDataKey");
    if (unwrap > 0) std::printf("token_unwrap_ops=%.0f\n", unwrap);
  }

 private:
  void PrintPair(const char* label, const std::string& name, const char* bare_label,
                 const std::string& bare_name) {
    double ours_ops = Rate(name), bare_ops = Rate(bare_name);
    if (ours_ops <= 0 || bare_ops <= 0) return;
    std::printf("%s=%.0f %s=%.0f ratio=%.3f\n", label, ours_ops, bare_label, bare_ops,
                ours_ops / bare_ops);
    std::fflush(stdout);
  }
};

}  // namespace
}  // namespace strongroom::crypto

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // As in the appliance and the tests, secrets live in the secure arena.
  if (!strongroom::bench::InstallBenchArena()) return 2;

  strongroom::crypto::SummaryReporter reporter(isatty(STDOUT_FILENO)
                                                   ? benchmark::ConsoleReporter::OO_ColorTabular
                                                   : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  delete strongroom::crypto::BenchToken::instance;  // removes the temporary token
  return 0;
}

// audit_log_gen: writes a valid audit log for `scripts/bench.sh verify`
// (issue 19): DIR/current.jsonl with N records shaped like the server's
// decrypt records (a record opening the log, events, a checkpoint signed by
// a SoftHSM token's audit key every 1,000 records and at the end) and the
// key's public half as DIR/audit-public.pem.
//   audit_log_gen DIR [RECORDS]   (RECORDS default 200000)
// Prints "records=N bytes=N". The token lives in a temporary directory and
// is removed at exit.
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "audit/record.h"
#include "bench/bench_support.h"
#include "crypto/audit_signing_key.h"

namespace strongroom::bench {
namespace {

constexpr std::uint64_t kCheckpointEvery = 1000;

std::string Base64(const std::array<std::uint8_t, 64>& bytes) {
  std::string out(89, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), 64);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

audit::Event DecryptEvent(std::uint64_t n) {
  audit::Event e;
  e.action = "secret.securevalues:decrypt";
  e.actor = {"service", "billing-" + std::to_string(n % 17), "", std::string(64, 'c'),
             "127.0.0.1:" + std::to_string(40000 + n % 20000)};
  e.resource = {"default", "SecureValue", "db-password-" + std::to_string(n % 1000)};
  e.http_status = 200;
  e.reason = "ok";
  e.request_id = "5f3a9c01-1-" + std::to_string(n);
  return e;
}

int Run(const std::string& dir, std::uint64_t records) {
  if (!InstallBenchArena()) return 1;
  std::unique_ptr<BenchTokenDir> token = BenchTokenDir::Create("bench-verify");
  if (token == nullptr) return 1;
  if (!crypto::EnsureAuditKeyPair(*token->token).has_value()) return 1;
  StatusOr<crypto::AuditPublicKey> key = crypto::GetAuditPublicKey(*token->token);
  if (!key.has_value()) return 1;
  std::ofstream pem(dir + "/audit-public.pem", std::ios::binary);
  pem << key->pem;
  std::ofstream log(dir + "/current.jsonl", std::ios::binary);
  std::string prev(audit::kZeroHash), hash;
  std::uint64_t bytes = 0;
  const std::string time = "2026-12-06T07:00:00.000000Z";
  for (std::uint64_t seq = 1; seq <= records; ++seq) {
    std::string line;
    if (seq == 1) {
      audit::Event open;
      open.action = std::string(audit::kLogCreatedAction);
      open.actor.kind = "system";
      open.details = {{"key_sha256", key->fingerprint_sha256}};
      line = audit::EncodeLine(seq, time, audit::RecordType::kEvent, &open, nullptr, {}, prev,
                               &hash);
    } else if (seq % kCheckpointEvery == 0 || seq == records) {
      audit::CheckpointBody body{seq - 1, prev, seq, std::string(64, '0'),
                                 key->fingerprint_sha256, ""};
      std::string message = audit::CheckpointMessage(body);
      auto signature = crypto::SignWithAuditKey(*token->token, AsBytes(message));
      if (!signature.has_value()) return 1;
      body.signature = Base64(*signature);
      line = audit::EncodeLine(seq, time, audit::RecordType::kCheckpoint, nullptr, &body, {}, prev,
                               &hash);
    } else {
      audit::Event event = DecryptEvent(seq);
      line = audit::EncodeLine(seq, time, audit::RecordType::kEvent, &event, nullptr, {}, prev,
                               &hash);
    }
    log << line;
    bytes += line.size();
    prev = hash;
  }
  log.close();
  if (!log || !pem) {
    std::fprintf(stderr, "audit_log_gen: cannot write to %s\n", dir.c_str());
    return 1;
  }
  std::printf("records=%llu bytes=%llu\n", static_cast<unsigned long long>(records),
              static_cast<unsigned long long>(bytes));
  return 0;
}

}  // namespace
}  // namespace strongroom::bench

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: audit_log_gen DIR [RECORDS]\n");
    return 2;
  }
  std::uint64_t records = argc == 3 ? std::stoull(argv[2]) : 200000;
  if (records < 2) records = 2;
  return strongroom::bench::Run(argv[1], records);
}

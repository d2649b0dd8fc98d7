// Fuzz target: one audit log line read back (audit/record.h, ParseLine),
// as written and with its hash recomputed (so mutations reach the members
// behind the hash check), and a parsed checkpoint checked against the
// seed logs' key (audit/verifier.h, CheckCheckpoint).
#include <cstdint>

#include "audit/record.h"
#include "audit/verifier.h"
#include "fuzz/audit_chain.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace strongroom;

void ParseAndCheck(std::string_view line, const std::string& key_sha256) {
  StatusOr<audit::ParsedLine> parsed = audit::ParseLine(line);
  if (!parsed.has_value()) {
    fuzz::Check(parsed.error().code() == StatusCode::kIntegrityError,
                "a bad line is not kIntegrityError");
    return;
  }
  fuzz::Check(parsed->hash.size() == 64 && parsed->prev.size() == 64, "hash or prev not 64 chars");
  fuzz::Check(audit::ChainHash(parsed->prev, line.substr(0, line.rfind(",\"hash\":\""))) ==
                  parsed->hash,
              "a line parsed whose hash does not match");
  if (parsed->checkpoint) {
    (void)audit::CheckCheckpoint(*parsed, fuzz::kAuditPublicKeyPem, key_sha256);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string key_sha256 =
      audit::PublicKeyFingerprint(fuzz::kAuditPublicKeyPem).value_or("");
  fuzz::Check(!key_sha256.empty(), "the seed key does not parse");
  std::string_view line = fuzz::AsText(data, size);
  ParseAndCheck(line, key_sha256);
  std::string rehashed = fuzz::Rehash(line, "");
  if (rehashed != line) ParseAndCheck(rehashed, key_sha256);
  return 0;
}

// audit/verifier.h — checks an audit log as an auditor would: without the
// token, the store or the server; only the files and the audit public key
// the auditor pinned (SPEC section 8). `strongroom audit verify` and
// GET /api/audit/verify both call this.
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/log_files.h"
#include "audit/record.h"
#include "base/status.h"

namespace strongroom::audit {

// Head names a record of the chain by its sequence number and hash.
struct Head {
  std::uint64_t seq = 0;
  std::string hash;
};

// ParseHead reads "SEQ:HASH" (kInvalidArgument otherwise).
StatusOr<Head> ParseHead(std::string_view text);

struct VerifyOptions {
  // The audit public key (SubjectPublicKeyInfo PEM). Required.
  std::string public_key_pem;
  // A head seen earlier (copied off the host): the log must still contain
  // exactly that record, so a log cut at a record boundary is detected.
  std::optional<Head> expect_head;
  // When true, records after the last checkpoint fail the verification
  // instead of being reported as pending.
  bool require_sealed = false;
};

// VerifyReport is the outcome. When !ok, the bad_* members name the first
// bad record: its sequence number (the one expected there when it is
// missing), file and 1-based line, and what is wrong.
struct VerifyReport {
  bool ok = false;
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t pending = 0;  // records after the last checkpoint
  std::uint64_t first_seq = 0, last_seq = 0;
  std::string first_time, last_time;
  std::string head_hash;  // hash of last_seq
  std::uint64_t bad_seq = 0;
  std::string bad_file;
  std::uint64_t bad_line = 0;
  std::string problem;
  // Summary is one line: "OK records=... checkpoints=... pending=... from=...
  // to=... head=SEQ:HASH" or "FAIL seq=S file=F line=L: problem".
  std::string Summary() const;
};

// Verify checks `files` (the chain in order, as OpenLogFiles gives it):
// each line's hash, the links (seq + 1, prev = previous hash), the first
// record (seq 1, created for this key), every checkpoint (it covers the
// record before it and its signature verifies under the key), and the
// options. Reading errors are reported as a failed verification.
VerifyReport Verify(const std::vector<LogFileSource>& files, const VerifyOptions& options);

// CheckCheckpoint checks one parsed checkpoint line: it covers the record
// before it (head_seq, head_hash = the line's prev), names the key
// `key_sha256` and its signature verifies under `public_key_pem`. OK, or
// kIntegrityError saying what does not hold.
Status CheckCheckpoint(const ParsedLine& line, std::string_view public_key_pem,
                       std::string_view key_sha256);

// VerifyDirectory opens the log in `dir` and verifies it.
VerifyReport VerifyDirectory(const std::string& dir, const VerifyOptions& options);

// PublicKeyFingerprint returns the hex SHA-256 of the key's DER
// SubjectPublicKeyInfo (what `strongroom init` prints). kInvalidArgument
// for a bad PEM.
StatusOr<std::string> PublicKeyFingerprint(std::string_view public_key_pem);

}  // namespace strongroom::audit

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
  // The audit public key (SubjectPublicKeyInfo PEM). Required: the key the
  // log was created for (its first record names it).
  std::string public_key_pem;
  // The audit keys of later tokens, pinned like the first: after an escrow
  // recovery (`strongroom escrow recover`) an audit.key.changed record
  // (record.h) names the new token's key, and checkpoints after it are
  // signed by it. A key change to a key not pinned here fails. Default none.
  std::vector<std::string> more_public_key_pems;
  // The server's own check (AuditLog::VerifyNow), which holds only its
  // current key: public_key_pem is the key the log must END under, the
  // first record may name another key, and checkpoints under keys whose
  // PEM is not given are checked for what they cover, not for their
  // signature. Auditors verify offline without it. Default false.
  bool current_key_only = false;
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
  std::uint64_t key_changes = 0;  // audit.key.changed records (escrow recoveries)
  std::uint64_t first_seq = 0, last_seq = 0;
  std::string first_time, last_time;
  std::string head_hash;  // hash of last_seq
  // node is the node name the log's records carry ("" when none does;
  // record.h): every named record names this one node.
  std::string node;
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
// record (seq 1, created for this key), the node name (record.h: one log,
// one node), every checkpoint (it covers the
// record before it and its signature verifies under the key in force: the
// first record's, then each audit.key.changed record's, which must be
// pinned), and the options. Reading errors are reported as a failed verification.
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

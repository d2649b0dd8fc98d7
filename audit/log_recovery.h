// audit/log_recovery.h — private to audit/: reading what a previous run (or
// a crash) left in a log directory when a log opens, without deciding
// anything: AuditLog::State::Recover (audit_recovery.cc) checks the result
// against the token's anchor, the last checkpoint and the store, and picks
// the records to write first.
//
// Tail-first: with `tail_from_anchor`, current.jsonl is read only from the
// line of the anchored record (the token's last sealed checkpoint, found by
// searching back from the end: normally the final checkpoint of a clean
// shutdown, or at most an anchor interval of records before a crash), and
// the lines before it are left to the deferred start-up verification
// (UnreadPrefix). Their hash chain ends in the anchored record, whose hash
// the token holds, so a change to them cannot go unnoticed by that
// verification; until it has passed the log signs nothing (audit_log.h).
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit/log_files.h"
#include "audit/record.h"
#include "audit/verifier.h"
#include "base/status.h"

namespace strongroom::audit {

// UnreadPrefix is the part of current.jsonl that Open did not read.
struct UnreadPrefix {
  std::uint64_t bytes = 0;     // current.jsonl's bytes [0, bytes)
  std::optional<Head> start;   // the record before them (nullopt: see ChainWalk)
  std::string start_node;      // the node name `start` carries ("" none)
  std::string next_line;       // the first line read (the anchored record)
  std::uint64_t next_seq = 0;  // its seq
};

// RecoveredLog is what ReadLogAtOpen found.
struct RecoveredLog {
  OpenFile current;                     // current.jsonl, opened read-write for appending
  std::uint64_t current_size = 0;       // bytes up to the end of its last complete line
  std::uint64_t current_first_seq = 0;  // its first record (head.seq + 1 when empty)
  // An incomplete final line (a crash mid-write): its offset and bytes.
  std::optional<std::uint64_t> partial_at;
  std::string partial;
  Head head;  // the log's last complete record
  bool head_is_checkpoint = false;
  std::uint64_t unsealed = 0;  // records after the last checkpoint read
  std::optional<ParsedLine> last_checkpoint;
  std::string last_key;            // the audit key in force at the head ("" unknown)
  std::string last_node;           // the node name the head carries ("" none; record.h)
  std::string first_record_hash;   // record 1's hash when the log still has it
  std::string anchored_hash;       // the hash of the anchored record ("" not found)
  std::vector<ParsedLine> writes;  // allowed writes above the store (ChainWalk)
  std::set<std::uint64_t> cancelled;
  std::optional<UnreadPrefix> unread;  // set when only the tail was read
};

// ReadLogAtOpen reads the log in `dir` (creating an empty current.jsonl
// when missing). `anchored_seq` is the token's sealed seq (0: none);
// `store_resource_version` the store's. With `tail_from_anchor`, only the
// tail of current.jsonl from the anchored record is read when that record
// is found in it. kIntegrityError naming the file and the line (or byte
// offset) for a line that does not verify or does not follow the one
// before it, as start-up refuses; kUnavailable for I/O errors.
StatusOr<RecoveredLog> ReadLogAtOpen(const std::string& dir, std::uint64_t anchored_seq,
                                     std::uint64_t store_resource_version, bool tail_from_anchor);

// VerifiedPrefix is what the deferred verification found in the lines
// Open did not read: the writes a not-committed record may be due for, as
// RecoveredLog's.
struct VerifiedPrefix {
  std::vector<ParsedLine> writes;
  std::set<std::uint64_t> cancelled;
};

// VerifyUnreadPrefix reads `prefix` through `current` (current.jsonl as
// Open opened it, so a rotation since does not matter) and checks it as
// Open checks the lines it reads, ending with the link into the anchored
// record. kIntegrityError naming the file and line, saying that the server
// now fails closed; kUnavailable / kInternal for I/O errors.
StatusOr<VerifiedPrefix> VerifyUnreadPrefix(const OpenFile& current, const UnreadPrefix& prefix,
                                            std::uint64_t store_resource_version);

// RefuseLine is the error that refuses start-up over line `line` (1-based;
// 0: the file as a whole) of `file`.
Status RefuseLine(const std::string& file, std::size_t line, const std::string& what);

}  // namespace strongroom::audit

// audit/tail_reader.h — private to audit/: reading where a log ends (its
// head) without reading it all, for a writer adopting what another process
// appended, and small directory helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/record.h"
#include "audit/verifier.h"
#include "base/status.h"

namespace strongroom::audit {

// TailState is where the log in a directory ends.
struct TailState {
  Head head{0, std::string(kZeroHash)};
  bool head_is_checkpoint = false;
  std::uint64_t current_first_seq = 1;  // seq of current.jsonl's first record (next one if empty)
};

// ReadTailState reads the last record of current.jsonl (or, when it is
// empty, of the newest rotated file) and current.jsonl's first record.
// kUnavailable when a file ends with an incomplete line; kIntegrityError
// when the last line does not parse.
StatusOr<TailState> ReadTailState(const std::string& dir);

// LastRecordOf returns the last complete record of the file at `path`
// (nullopt for an empty file).
StatusOr<std::optional<ParsedLine>> LastRecordOf(const std::string& path);

// FirstRecordOf returns the first record of the file at `path` (nullopt
// for an empty file).
StatusOr<std::optional<ParsedLine>> FirstRecordOf(const std::string& path);

// FindRotatedRecord reads the rotated file of `dir` that should hold record
// `seq` (the last one whose first seq is not above it) and returns that
// record: nullopt when no file holds it (archived away). kIntegrityError
// when a line of that file does not parse.
StatusOr<std::optional<ParsedLine>> FindRotatedRecord(const std::string& dir, std::uint64_t seq);

// SyncDirectory fsyncs `dir` so creations and renames in it are durable.
Status SyncDirectory(const std::string& dir);

}  // namespace strongroom::audit

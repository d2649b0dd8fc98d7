// audit/tail_reader.h — private to audit/: reading single records of a log
// file (its first, its last, one by seq) without reading it all, for
// start-up recovery, and small directory helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/record.h"
#include "audit/verifier.h"
#include "base/status.h"

namespace strongroom::audit {

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

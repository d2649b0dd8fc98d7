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

// FindRecordStart returns the byte offset in the open file `fd` (of `size`
// bytes) where the complete line of record `seq` starts, searching back from
// the end, so that start-up reads only the tail after a known record. It
// reads no further back than that line. nullopt when it is not found: a
// line before it starts otherwise than `{"seq":N,` (a line the writer did not
// write), the records at the end are numbered below `seq`, or the file has
// no such record; the caller then reads the whole file, whose checks decide.
// An incomplete final line (no newline) is never the one returned.
StatusOr<std::optional<std::uint64_t>> FindRecordStart(int fd, std::uint64_t size,
                                                       std::uint64_t seq);

// SyncDirectory fsyncs `dir` so creations and renames in it are durable.
Status SyncDirectory(const std::string& dir);

}  // namespace strongroom::audit

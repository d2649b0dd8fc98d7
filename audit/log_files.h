// audit/log_files.h — the files of an audit log directory and how they are
// read back. A log is `audit-<first seq, 20 digits>.jsonl` files (rotated,
// complete, each ending with a checkpoint) followed by `current.jsonl`.
// Other files (quarantined partial lines, the lock file) are not part of
// the chain. Thread-safety: plain functions and move-only values.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace strongroom::audit {

inline constexpr std::string_view kCurrentFileName = "current.jsonl";
inline constexpr std::string_view kLockFileName = ".lock";

// RotatedFileName returns "audit-<first_seq as 20 digits>.jsonl".
std::string RotatedFileName(std::uint64_t first_seq);

// OpenFile owns a file descriptor opened for reading.
class OpenFile {
 public:
  OpenFile() = default;
  explicit OpenFile(int fd) : fd_(fd) {}
  OpenFile(OpenFile&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  OpenFile& operator=(OpenFile&& other) noexcept;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();
  int get() const { return fd_; }
  // release gives up ownership and returns the descriptor.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// LogFileSource is one file of the chain, open, read up to `limit` bytes
// (a snapshot of a file that may still grow), from byte `start` (the
// beginning of a line).
struct LogFileSource {
  std::string name;
  OpenFile file;
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t start = 0;
};

// OpenLogFiles opens the chain's files of `dir` in order (rotated ones by
// first seq, then current.jsonl). kNotFound when `dir` does not exist.
StatusOr<std::vector<LogFileSource>> OpenLogFiles(const std::string& dir);

// FileLines is a file's bytes cut into lines. `lines` are the complete
// lines (without "\n"); `partial` is set when the bytes end without a
// newline and holds the offset where that incomplete last line starts.
struct FileLines {
  std::string bytes;
  std::vector<std::pair<std::size_t, std::size_t>> lines;  // (offset, length) in `bytes`
  std::optional<std::size_t> partial;
  // Line returns line `i` (0-based) without its "\n".
  std::string_view Line(std::size_t i) const {
    return std::string_view(bytes).substr(lines[i].first, lines[i].second);
  }
};

// ReadLines reads `source` from its start up to its limit (offsets in the
// result are from `source.start`).
StatusOr<FileLines> ReadLines(const LogFileSource& source);

}  // namespace strongroom::audit

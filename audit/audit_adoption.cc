// Adopting what other processes (the CLI) appended to the log, and
// refusing, for good, what does not verify (SPEC 8: "Lines written by
// another process are adopted only when they chain from this process's
// head, every hash verifies and the segment ends in a checkpoint valid
// under the audit key; anything else is tampering").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/audit_log_state.h"
#include "audit/tail_reader.h"

namespace strongroom::audit {
namespace {

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

// Segment is what other processes appended after this process's head.
struct Segment {
  std::vector<std::string> lines;
  std::uint64_t current_size = 0;       // bytes of current.jsonl once adopted
  std::optional<std::uint64_t> current_first_seq;  // its first record, if any
};

StatusOr<std::string> ReadFrom(int fd, std::uint64_t offset, std::uint64_t end) {
  std::string out(static_cast<std::size_t>(end - offset), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return std::unexpected(Status::Unavailable(std::string("cannot read the audit log: ") +
                                                 (n < 0 ? std::strerror(errno) : "short read")));
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

// SplitLines appends the complete lines of `bytes` to `out`; false when
// the bytes end inside a line.
bool SplitLines(std::string_view bytes, std::vector<std::string>& out) {
  while (!bytes.empty()) {
    std::size_t end = bytes.find('\n');
    if (end == std::string_view::npos) return false;
    out.emplace_back(bytes.substr(0, end));
    bytes.remove_prefix(end + 1);
  }
  return true;
}

}  // namespace

Status AuditLog::State::TamperedWith(const std::string& what) {
  bool first = false;
  {
    std::lock_guard lock(mutex);
    first = !tampered;
    if (first) {
      tampered = true;
      tampering = what;
      stats.tampered = true;
    }
  }
  if (first && options.warn) {
    options.warn("the audit log was altered outside Strongroom (" + what +
                 "); nothing more is written or signed, and audited requests are refused, until "
                 "an operator has checked the log and restarted");
  }
  return Status::IntegrityError("the audit log was altered outside Strongroom: " + what);
}

Status AuditLog::State::ReopenCurrent() {
  const std::string current = options.dir + "/" + std::string(kCurrentFileName);
  // SECURITY: never follow a link planted in place of current.jsonl, and
  // append only to a regular file of this user that no one else may write.
  int fd = ::open(current.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return Status::Unavailable("cannot reopen " + current + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    ::close(fd);
    return TamperedWith(current + " is not a regular file of this user, writable by it alone");
  }
  ::close(current_fd);
  current_fd = fd;
  return Status::Ok();
}

Status AuditLog::State::AdoptOtherWriters() {
  {
    std::lock_guard lock(mutex);
    SR_RETURN_IF_ERROR(Refusing());
  }
  const std::string current = options.dir + "/" + std::string(kCurrentFileName);
  struct stat mine, on_disk;
  if (::fstat(current_fd, &mine) != 0) {
    return Status::Unavailable(std::string("cannot stat the audit log: ") + std::strerror(errno));
  }
  const bool same_file = ::lstat(current.c_str(), &on_disk) == 0 && SameFile(on_disk, mine);
  const auto my_size = static_cast<std::uint64_t>(mine.st_size);
  if (same_file && my_size == current_size) return Status::Ok();
  if (my_size < current_size) {
    return TamperedWith("the file it was writing shrank from " + std::to_string(current_size) +
                        " to " + std::to_string(my_size) + " bytes");
  }
  // The lines after our head: the rest of the file we wrote to, then, when
  // another process rotated it, the files after it.
  Segment segment;
  SR_ASSIGN_OR_RETURN(std::string rest, ReadFrom(current_fd, current_size, my_size));
  if (!SplitLines(rest, segment.lines)) return TamperedWith("a line was left incomplete");
  segment.current_size = my_size;
  if (!same_file) {
    // A rotation by another process renamed our file to its rotated name.
    const std::string ours = options.dir + "/" + RotatedFileName(current_first_seq);
    struct stat renamed;
    if (::lstat(ours.c_str(), &renamed) != 0 || !SameFile(renamed, mine)) {
      return TamperedWith("current.jsonl was replaced or removed");
    }
    SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(options.dir));
    for (const LogFileSource& file : files) {
      if (file.name != kCurrentFileName && file.name <= RotatedFileName(current_first_seq)) continue;
      SR_ASSIGN_OR_RETURN(FileLines read, ReadLines(file));
      if (read.partial) return TamperedWith(file.name + " ends with an incomplete line");
      if (file.name == kCurrentFileName) {
        segment.current_size = read.bytes.size();
        if (!read.lines.empty()) {
          StatusOr<ParsedLine> first = ParseLine(read.Line(0));
          if (first.has_value()) segment.current_first_seq = first->seq;
        }
      }
      for (std::size_t i = 0; i < read.lines.size(); ++i) segment.lines.emplace_back(read.Line(i));
    }
  }
  // Every line must chain from our head and verify.
  Head at = written_head;
  std::uint64_t max_resource_version = 0;
  std::optional<ParsedLine> last;
  for (const std::string& text : segment.lines) {
    StatusOr<ParsedLine> line = ParseLine(text);
    if (!line.has_value()) {
      return TamperedWith("a line after record " + std::to_string(at.seq) +
                          " does not verify: " + line.error().message());
    }
    if (line->seq != at.seq + 1 || line->prev != at.hash) {
      return TamperedWith("the lines appended after record " + std::to_string(at.seq) +
                          " do not follow it");
    }
    if (line->node != options.node_name) {
      return TamperedWith("record " + std::to_string(line->seq) + " names node \"" + line->node +
                          "\", not this log's \"" + options.node_name + "\"");
    }
    at = Head{line->seq, line->hash};
    if (line->type == RecordType::kEvent && line->resource_version) {
      max_resource_version = std::max(max_resource_version, *line->resource_version);
    }
    last = std::move(*line);
  }
  if (last && last->type == RecordType::kCheckpoint) {
    Status holds = CheckCheckpoint(*last, checkpointer->signer().public_key_pem(),
                                   checkpointer->signer().key_sha256());
    if (!holds.ok()) return TamperedWith("checkpoint " + std::to_string(last->seq) + ": " + holds.message());
  } else if (!options.seal_every_group) {
    // SECURITY: the CLI seals each of its groups; unsealed lines that
    // appeared are not the CLI's. (A process that seals every group, the
    // CLI, takes the server's unsealed lines: the server seals far too
    // often to sign each group, and the CLI's own checkpoint covers them.)
    return TamperedWith("the lines appended after record " + std::to_string(written_head.seq) +
                        " do not end in a checkpoint");
  }
  if (!same_file) SR_RETURN_IF_ERROR(ReopenCurrent());
  std::lock_guard lock(mutex);
  if (!same_file) current_first_seq = segment.current_first_seq.value_or(at.seq + 1);
  current_size = segment.current_size;
  written_head = at;
  head = at;
  head_is_checkpoint = last && last->type == RecordType::kCheckpoint;
  unsealed = head_is_checkpoint ? 0 : 1;
  if (head_is_checkpoint) {
    oldest_unsealed.reset();
  } else if (!oldest_unsealed) {
    oldest_unsealed = std::chrono::steady_clock::now();
  }
  vouched_resource_version = std::max(vouched_resource_version, max_resource_version);
  return Status::Ok();
}

StatusOr<std::uint64_t> AuditLog::AdoptNow() {
  {
    std::lock_guard io(state_->io_mutex);
    SR_RETURN_IF_ERROR(state_->LockFile());
    Status adopted = state_->AdoptOtherWriters();
    state_->UnlockFile();
    SR_RETURN_IF_ERROR(adopted);
  }
  std::lock_guard lock(state_->mutex);
  return state_->vouched_resource_version;
}

}  // namespace strongroom::audit

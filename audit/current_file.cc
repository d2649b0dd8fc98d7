// The sequencer's current file: appending a group with one write and one
// fdatasync (or one each per record without group commit), taking back a
// group that failed half-written, rotation, the lock that orders this
// process's writes with other writers' (the CLI's), and the free-space
// watermark. Called on the sequencer thread with `io_mutex` held.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/audit_log_state.h"
#include "audit/tail_reader.h"

namespace strongroom::audit {
namespace {

constexpr auto kSpaceCheckEvery = std::chrono::seconds(5);

Status Errno(const std::string& what) {
  return Status::Unavailable(what + ": " + std::strerror(errno));
}

}  // namespace

Status AuditLog::State::AppendLines(const std::vector<std::string>& lines) {
  if (lines.empty()) return Status::Ok();
  const std::uint64_t good_size = current_size;
  auto sync = [&]() -> Status {
    auto started = std::chrono::steady_clock::now();
    Status synced = sink->Sync(current_fd);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    std::lock_guard lock(mutex);
    ++stats.fsyncs;
    stats.fsync_micros_total += static_cast<std::uint64_t>(micros.count());
    ++stats.fsync_counts[BucketOf(kFsyncSecondsBounds, static_cast<double>(micros.count()) / 1e6)];
    return synced;
  };
  Status status = Status::Ok();
  std::uint64_t size = current_size;
  if (options.group_commit) {
    std::size_t total = 0;
    for (const std::string& line : lines) total += line.size();
    std::string all;
    all.reserve(total);
    for (const std::string& line : lines) all += line;
    status = sink->WriteAll(current_fd, AsBytes(all));
    if (status.ok()) status = sync();
    size += all.size();
  } else {
    for (const std::string& line : lines) {
      status = sink->WriteAll(current_fd, AsBytes(line));
      if (status.ok()) status = sync();
      if (!status.ok()) break;
      size += line.size();
    }
  }
  if (!status.ok()) {
    // Take back a partly written group so the chain stays whole; if even
    // that fails, start-up recovery quarantines the incomplete line.
    if (::ftruncate(current_fd, static_cast<off_t>(good_size)) != 0 && options.warn) {
      options.warn(std::string("cannot truncate a failed audit write: ") + std::strerror(errno));
    }
    return status;
  }
  current_size = size;
  return Status::Ok();
}

Status AuditLog::State::RotateIfFull() {
  if (current_size < options.max_file_bytes) return Status::Ok();
  // A rotated file ends with a checkpoint: none before the start-up
  // verification has passed, so the file grows a little longer meanwhile.
  if (!checkpointer->allowed()) return Status::Ok();
  if (!head_is_checkpoint) SR_RETURN_IF_ERROR(WriteCheckpoint());
  const std::string current = options.dir + "/" + std::string(kCurrentFileName);
  const std::string rotated = options.dir + "/" + RotatedFileName(current_first_seq);
  if (::rename(current.c_str(), rotated.c_str()) != 0) return Errno("cannot rotate the audit log");
  int fd =
      ::open(current.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot create a new audit file");
  ::close(current_fd);
  current_fd = fd;
  current_size = 0;
  current_first_seq = written_head.seq + 1;
  {
    // Rotation moves the anchored head into another file: anchor now.
    std::lock_guard lock(mutex);
    anchor_urgent = true;
  }
  anchor_wake.notify_all();
  return SyncDirectory(options.dir);
}

Status AuditLog::State::LockFile() {
  while (::flock(lock_fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Errno("cannot lock the audit log");
  }
  return Status::Ok();
}

void AuditLog::State::UnlockFile() { ::flock(lock_fd, LOCK_UN); }

void AuditLog::State::CheckFreeSpace() {
  SteadyTime now = std::chrono::steady_clock::now();
  if (now < next_space_check) return;
  next_space_check = now + kSpaceCheckEvery;
  struct statvfs fs;
  if (::fstatvfs(current_fd, &fs) != 0) return;
  std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  bool low = free_bytes < options.free_space_watermark_bytes;
  bool was_low;
  {
    std::lock_guard lock(mutex);
    was_low = stats.low_space;
    stats.free_bytes = free_bytes;
    stats.low_space = low;
  }
  if (low && !was_low && options.warn) {
    options.warn("the audit log's file system has " + std::to_string(free_bytes >> 20) +
                 " MiB free, below the watermark of " +
                 std::to_string(options.free_space_watermark_bytes >> 20) +
                 " MiB: archive rotated audit files before it fills");
  }
}

}  // namespace strongroom::audit

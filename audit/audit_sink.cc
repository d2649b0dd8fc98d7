#include "audit/audit_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strongroom::audit {
namespace {

Status IoError(std::string_view what, int err) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted(message);
  return Status::Unavailable(message);
}

Status WriteLoop(int fd, ByteSpan bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write the audit log", errno);
    }
    if (n == 0) return Status::Unavailable("cannot write the audit log: no progress");
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status SyncFd(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return IoError("cannot sync the audit log", errno);
  }
  return Status::Ok();
}

class FileSink final : public AuditSink {
 public:
  Status WriteAll(int fd, ByteSpan bytes) override { return WriteLoop(fd, bytes); }
  Status Sync(int fd) override { return SyncFd(fd); }
};

class TriggeredFullDiskSink final : public AuditSink {
 public:
  explicit TriggeredFullDiskSink(std::string trigger) : trigger_(std::move(trigger)) {}

  Status WriteAll(int fd, ByteSpan bytes) override {
    struct stat st;
    if (::stat(trigger_.c_str(), &st) == 0) {
      int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
      if (full < 0) return IoError("cannot open /dev/full", errno);
      Status written = WriteLoop(full, bytes);
      ::close(full);
      return written.ok() ? Status::Unavailable("/dev/full accepted a write") : written;
    }
    return WriteLoop(fd, bytes);
  }
  Status Sync(int fd) override { return SyncFd(fd); }

 private:
  std::string trigger_;
};

}  // namespace

std::unique_ptr<AuditSink> NewFileSink() { return std::make_unique<FileSink>(); }

std::unique_ptr<AuditSink> NewTriggeredFullDiskSink(std::string trigger_path) {
  return std::make_unique<TriggeredFullDiskSink>(std::move(trigger_path));
}

}  // namespace strongroom::audit

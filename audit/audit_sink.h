// audit/audit_sink.h — where the audit log's bytes go: the two system calls
// that can fail or block (write and fdatasync), behind an interface so tests
// inject faults (a sink that blocks, a disk that is full).
// Thread-safety: the log calls a sink from its one writer thread only.
#pragma once

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::audit {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // WriteAll appends all of `bytes` to `fd` (retrying short writes and
  // EINTR). kResourceExhausted on ENOSPC/EDQUOT, kUnavailable on other I/O
  // errors. A failed call may have written a prefix; the log truncates it.
  virtual Status WriteAll(int fd, ByteSpan bytes) = 0;
  // Sync makes what was written durable (fdatasync).
  virtual Status Sync(int fd) = 0;
};

// FileSink is the real sink: write(2) and fdatasync(2).
std::unique_ptr<AuditSink> NewFileSink();

// NewTriggeredFullDiskSink is for tests only (configuration key
// `audit.test_full_disk_trigger`): while the file `trigger_path` exists,
// every write goes to /dev/full instead, so the kernel answers ENOSPC; when
// it is removed writes go to the log again.
std::unique_ptr<AuditSink> NewTriggeredFullDiskSink(std::string trigger_path);

}  // namespace strongroom::audit

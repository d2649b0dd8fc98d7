// storage/server_lock.h — private to storage/: the server's exclusive lock
// on `<data_dir>/server.lock`.
//
// flock(2) locks belong to an open file description, so a second holder in
// the same process conflicts too, and the lock goes away with the process
// (no stale lock after a crash). Thread-safety: a move-only value.
#pragma once

#include <string>
#include <utility>

#include "base/status.h"
#include "storage/posix_files.h"

namespace strongroom::storage {

class ServerLock {
 public:
  // Acquire creates `<data_dir>/server.lock` (0600) if missing and takes an
  // exclusive lock without waiting: kFailedPrecondition when another holder
  // has it.
  static StatusOr<ServerLock> Acquire(const std::string& data_dir);
  // IsHeld returns whether someone holds the lock (false when the file does
  // not exist). It probes with a non-blocking shared lock, released at once.
  static StatusOr<bool> IsHeld(const std::string& data_dir);

  ServerLock(ServerLock&&) = default;
  ServerLock& operator=(ServerLock&&) = default;
  // ~ServerLock releases the lock (by closing the descriptor).

 private:
  explicit ServerLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace strongroom::storage

#include "storage/server_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace strongroom::storage {
namespace {
std::string LockPath(const std::string& data_dir) { return data_dir + "/server.lock"; }
}  // namespace

StatusOr<ServerLock> ServerLock::Acquire(const std::string& data_dir) {
  std::string path = LockPath(data_dir);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return std::unexpected(ErrnoStatus("cannot open " + path, errno));
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      return std::unexpected(Status::FailedPrecondition(
          "another strongroom server holds " + path + " (is the server already running?)"));
    }
    return std::unexpected(ErrnoStatus("cannot lock " + path, errno));
  }
  return ServerLock(std::move(fd));
}

StatusOr<bool> ServerLock::IsHeld(const std::string& data_dir) {
  std::string path = LockPath(data_dir);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;
    return std::unexpected(ErrnoStatus("cannot open " + path, errno));
  }
  while (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return true;
    return std::unexpected(ErrnoStatus("cannot probe " + path, errno));
  }
  // Closing `fd` drops the probe's shared lock.
  return false;
}

}  // namespace strongroom::storage

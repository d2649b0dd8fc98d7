#include "storage/posix_files.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strongroom::storage {

Status ErrnoStatus(std::string_view context, int err) {
  std::string message(context);
  message += ": ";
  message += std::strerror(err);
  switch (err) {
    case ENOENT: return Status::NotFound(std::move(message));
    case EEXIST: return Status::AlreadyExists(std::move(message));
    case ENOSPC:
    case EDQUOT: return Status::ResourceExhausted(std::move(message));
    case EACCES:
    case EPERM: return Status::PermissionDenied(std::move(message));
    default: return Status::Internal(std::move(message));
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<bool> PathExists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return std::unexpected(ErrnoStatus("cannot stat " + path, errno));
}

Status EnsurePrivateDir(const std::string& path, bool create) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::FailedPrecondition(path + " is not a directory");
    return Status::Ok();
  }
  if (errno != ENOENT) return ErrnoStatus("cannot stat " + path, errno);
  if (!create) return Status::NotFound(path + " does not exist");
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("cannot create " + path, errno);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("cannot open " + path, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot fsync " + path, errno);
  return Status::Ok();
}

StatusOr<UniqueFd> CreateExclusiveFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return std::unexpected(ErrnoStatus("cannot create " + path, errno));
  return fd;
}

Status CopyFileDurably(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("cannot open " + from, errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return ErrnoStatus("cannot stat " + from, errno);
  if (!S_ISREG(st.st_mode)) return Status::FailedPrecondition(from + " is not a regular file");
  SR_ASSIGN_OR_RETURN(UniqueFd out, CreateExclusiveFile(to));
  off_t offset = 0;
  while (offset < st.st_size) {
    auto left = static_cast<std::size_t>(st.st_size - offset);
    ssize_t n = ::sendfile(out.get(), in.get(), &offset, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot copy " + from + " to " + to, errno);
    if (n == 0) return Status::Internal(from + " shrank while it was copied");
  }
  if (::fsync(out.get()) != 0) return ErrnoStatus("cannot fsync " + to, errno);
  return Status::Ok();
}

}  // namespace strongroom::storage

// storage/posix_files.h — private to storage/: the few POSIX file operations
// the store needs (private directories, durable copies, directory fsync),
// with errno turned into a Status. Thread-safety: plain functions; UniqueFd
// is a move-only value.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace strongroom::storage {

// ErrnoStatus maps `err` to a Status prefixed with `context`: ENOENT ->
// kNotFound, EEXIST -> kAlreadyExists, ENOSPC/EDQUOT -> kResourceExhausted,
// EACCES/EPERM -> kPermissionDenied, others -> kInternal.
Status ErrnoStatus(std::string_view context, int err);

// UniqueFd owns one file descriptor and closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// PathExists returns whether `path` exists (kInternal when stat fails for
// another reason than ENOENT).
StatusOr<bool> PathExists(const std::string& path);

// EnsurePrivateDir makes sure `path` is a directory: when missing it is
// created with mode 0700 if `create`, else kNotFound.
Status EnsurePrivateDir(const std::string& path, bool create);

// SyncDir fsyncs a directory so renames and creations in it are durable.
Status SyncDir(const std::string& path);

// CreateExclusiveFile creates `path` (O_EXCL, mode 0600) for writing;
// kAlreadyExists when it exists.
StatusOr<UniqueFd> CreateExclusiveFile(const std::string& path);

// CopyFileDurably copies `from` into a new file `to` (created as by
// CreateExclusiveFile) and fsyncs it.
Status CopyFileDurably(const std::string& from, const std::string& to);

}  // namespace strongroom::storage

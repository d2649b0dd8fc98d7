// Store::Backup (online compacting copy) and Store::InstallBackup (offline
// swap of the store directory).
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <string>

#include "storage/posix_files.h"
#include "storage/store_impl.h"

namespace strongroom::storage {
namespace {

constexpr const char* kDataFile = "/data.mdb";

// UnusedName returns `base`, or `base.N` for the first N that does not
// exist, so nothing already on disk is ever replaced.
StatusOr<std::string> UnusedName(const std::string& base) {
  std::string name = base;
  for (int n = 1;; ++n) {
    SR_ASSIGN_OR_RETURN(bool exists, PathExists(name));
    if (!exists) return name;
    name = base + "." + std::to_string(n);
  }
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus("cannot rename " + from + " to " + to, errno);
  }
  return Status::Ok();
}

// SwapInStore makes `fresh` the store directory and keeps the current one
// (if any) as `keep_as`.
Status SwapInStore(const std::string& fresh, const std::string& store, const std::string& keep_as) {
  SR_ASSIGN_OR_RETURN(bool had_store, PathExists(store));
  if (!had_store) return Rename(fresh, store);
  // Exchange atomically, so a crash never leaves the data directory without
  // a store (a server started then would create an empty one).
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, store.c_str(), RENAME_EXCHANGE) == 0) {
    return Rename(fresh, keep_as)
        .WithContext("the backup is installed, but the old store stays in " + fresh);
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return ErrnoStatus("cannot exchange " + fresh + " and " + store, errno);
  }
  // The filesystem cannot exchange: two renames, with a short window.
  SR_RETURN_IF_ERROR(Rename(store, keep_as));
  Status installed = Rename(fresh, store);
  if (!installed.ok()) {
    (void)Rename(keep_as, store);  // best effort: put the old store back
    return installed;
  }
  return Status::Ok();
}

}  // namespace

Status Store::Backup(const std::string& dest_dir) const {
  const std::string path = dest_dir + kDataFile;
  SR_ASSIGN_OR_RETURN(UniqueFd fd, CreateExclusiveFile(path));
  // A compacting copy runs in its own read transaction: a consistent
  // snapshot while writes continue.
  Status copied = LmdbStatus(mdb_env_copyfd2(impl_->env->env(), fd.get(), MDB_CP_COMPACT),
                             "cannot copy the store to " + path);
  if (copied.ok() && ::fsync(fd.get()) != 0) copied = ErrnoStatus("cannot fsync " + path, errno);
  fd.Reset();
  if (!copied.ok()) {
    ::unlink(path.c_str());
    return copied;
  }
  return SyncDir(dest_dir);
}

Status Store::InstallBackup(const std::string& backup_dir, const std::string& data_dir) {
  SR_ASSIGN_OR_RETURN(bool running, ServerRunning(data_dir));
  if (running) {
    return Status::FailedPrecondition("the server is running on " + data_dir +
                                      "; stop it before restoring a backup");
  }
  const std::string store = data_dir + "/store";
  if (IsOpenInProcess(store)) {
    return Status::FailedPrecondition("the store in " + store + " is open in this process");
  }
  const std::string source = backup_dir + kDataFile;
  SR_ASSIGN_OR_RETURN(bool source_exists, PathExists(source));
  if (!source_exists) return Status::NotFound("no backup at " + source);
  SR_RETURN_IF_ERROR(EnsurePrivateDir(data_dir, /*create=*/true));

  // A leftover from an interrupted restore may hold the previous store (a
  // crash between the exchange and the final rename): set it aside, never
  // delete it.
  const std::string staging = data_dir + "/store.restore-tmp";
  SR_ASSIGN_OR_RETURN(bool leftover, PathExists(staging));
  if (leftover) {
    SR_ASSIGN_OR_RETURN(std::string aside, UnusedName(staging + "-abandoned-" +
                                                      std::to_string(std::time(nullptr))));
    SR_RETURN_IF_ERROR(Rename(staging, aside));
  }
  SR_RETURN_IF_ERROR(EnsurePrivateDir(staging, /*create=*/true));
  Status staged = CopyFileDurably(source, staging + kDataFile);
  if (staged.ok()) staged = SyncDir(staging);
  // SECURITY: only a file that opens as a store of a supported schema
  // replaces the current one.
  if (staged.ok()) staged = VerifyStoreFile(staging).WithContext("backup " + source);
  if (!staged.ok()) {
    std::error_code ignored;  // only our own fresh copy is in `staging`
    std::filesystem::remove_all(staging, ignored);
    return staged;
  }
  SR_ASSIGN_OR_RETURN(std::string keep_as, UnusedName(data_dir + "/store.before-restore-" +
                                                      std::to_string(std::time(nullptr))));
  SR_RETURN_IF_ERROR(SwapInStore(staging, store, keep_as));
  return SyncDir(data_dir);
}

}  // namespace strongroom::storage

// storage/store_env.h — private to storage/: the opened LMDB environment of
// one store with its table handles, and the schema-version check shared by
// Open and InstallBackup.
//
// A StoreEnv is shared (std::shared_ptr) by the Store and every ReadTxn, so
// the environment closes only after the last snapshot is released. LMDB must
// not open one environment twice in a process (closing the second copy drops
// the first one's file locks), so StoreEnv keeps a process-wide registry and
// refuses a second open of the same directory. Thread-safety: immutable after
// Open; LMDB handles its own locking.
#pragma once

#include <lmdb.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "base/status.h"
#include "storage/lmdb_env.h"
#include "storage/read_txn_pool.h"
#include "storage/record_io.h"
#include "storage/storage.h"

namespace strongroom::storage {

class StoreEnv {
 public:
  // Open opens the environment in the existing directory `dir` (creating
  // data.mdb when absent), opens or creates every table and checks or writes
  // the schema version. kFailedPrecondition when `dir` is already open in
  // this process or its schema is newer than kSchemaVersion.
  static StatusOr<std::shared_ptr<StoreEnv>> Open(const std::string& dir,
                                                  const StoreOptions& options);
  ~StoreEnv();
  StoreEnv(const StoreEnv&) = delete;
  StoreEnv& operator=(const StoreEnv&) = delete;

  MDB_env* env() const { return env_.get(); }
  const TableHandles& tables() const { return tables_; }
  // schema_version_at_open is the schema version Open found (or wrote).
  std::uint32_t schema_version_at_open() const { return schema_version_at_open_; }
  // map_size_bytes is the map size LMDB actually uses.
  std::size_t map_size_bytes() const { return map_size_bytes_; }
  // read_txns keeps reset read transactions for Store::BeginRead
  // (read_txn_pool.h); cleared before the environment closes.
  ReadTxnPool& read_txns() const { return read_txns_; }

 private:
  StoreEnv() = default;
  Status Initialize();

  bool registered_ = false;
  std::pair<dev_t, ino_t> registered_id_{};  // in the process registry
  MdbEnvPtr env_;
  TableHandles tables_{};
  std::size_t map_size_bytes_ = 0;
  std::uint32_t schema_version_at_open_ = 0;
  // A few more than the threads that read at once (the I/O threads and the
  // handler pool): a burst beyond that begins new transactions.
  static constexpr std::size_t kIdleReadTxns = 8;
  mutable ReadTxnPool read_txns_{kIdleReadTxns};
};

// CheckSchemaVersion reads kMeta "schema_version" through `meta`: kNotFound
// when absent, kInternal when malformed, kFailedPrecondition when newer than
// this build supports; otherwise returns it.
StatusOr<std::uint32_t> CheckSchemaVersion(MDB_txn* txn, MDB_dbi meta);

// IsOpenInProcess returns whether a StoreEnv of this process has `dir` open.
bool IsOpenInProcess(const std::string& dir);

// VerifyStoreFile opens the environment in `dir` read-only without a lock
// file and checks that it is a store with a supported schema.
Status VerifyStoreFile(const std::string& dir);

}  // namespace strongroom::storage

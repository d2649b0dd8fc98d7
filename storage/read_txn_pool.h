// storage/read_txn_pool.h — private to storage/: ReadTxnPool, the read-only
// LMDB transactions of one environment kept, reset, for the next snapshot.
//
// Why: beginning a read transaction allocates its handle and, with
// MDB_NOTLS, takes LMDB's reader-table lock to find a free reader slot;
// ending it gives both back. Every request begins one (Store::BeginRead), so
// a snapshot's end resets its transaction (mdb_txn_reset: the snapshot is
// released, the handle and its slot are kept) and the next BeginRead renews
// it (mdb_txn_renew), which takes the latest committed snapshot exactly as
// mdb_txn_begin would (issue 19).
//
// The pool is the environment's, not a thread's: with MDB_NOTLS a reset
// transaction may be renewed on any thread, so a thread that exits leaves
// nothing behind, and a snapshot that moved to another thread (a suspended
// decrypt) returns its transaction from there. At most `capacity` idle
// transactions are kept (each holds a reader slot of StoreOptions::
// max_readers); a reset one pins no old pages.
//
// REQUIRES: Clear (or destruction) before the environment closes; StoreEnv
// does it first thing in its destructor, and every snapshot keeps its
// StoreEnv alive, so no transaction outlives the environment.
// Thread-safety: Begin and Release may run concurrently (a mutex guards the
// idle list, held only to push or pop one handle).
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "storage/lmdb_env.h"

namespace strongroom::storage {

class ReadTxnPool {
 public:
  // ReadTxnPool keeps at most `capacity` idle transactions.
  explicit ReadTxnPool(std::size_t capacity) : capacity_(capacity) { idle_.reserve(capacity); }
  ReadTxnPool(const ReadTxnPool&) = delete;
  ReadTxnPool& operator=(const ReadTxnPool&) = delete;

  // Begin returns a read-only transaction on `env` holding the latest
  // committed snapshot: an idle one renewed, else a new one (errors as
  // LmdbTxn::Begin).
  StatusOr<LmdbTxn> Begin(MDB_env* env, std::size_t map_size_bytes);
  // Release ends `txn`'s snapshot and keeps its handle for a later Begin, or
  // aborts it when `capacity` are idle already. REQUIRES: `txn` is a live
  // read-only transaction of this pool's environment with no cursor open.
  void Release(LmdbTxn txn);
  // Clear aborts every idle transaction.
  void Clear();

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::vector<LmdbTxn> idle_;  // guarded by mu_; each Reset
};

}  // namespace strongroom::storage

// storage/store_impl.h — private to storage/: the insides of Store, ReadTxn
// and WriteTxn, shared by store.cc (open, reads, Write), write_txn.cc,
// write_batch.cc (the writer thread) and backup.cc.
//
// Thread-safety: Store::Impl's mutable state is guarded as noted per field;
// the writer thread alone touches write transactions.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/shared_snapshot.h"
#include "storage/integrity_watch.h"
#include "storage/lmdb_env.h"
#include "storage/record_io.h"
#include "storage/server_lock.h"
#include "storage/storage.h"
#include "storage/store_digest.h"
#include "storage/store_env.h"
#include "storage/write_queue.h"

namespace strongroom::storage {

struct ReadTxn::Impl {
  // Keeps the environment open while this snapshot lives (declared before
  // `txn`, so the transaction ends first).
  std::shared_ptr<const StoreEnv> env;
  std::shared_ptr<const RecordAuthenticator> authenticator;
  LmdbTxn txn;
  std::uint64_t resource_version = 0;
  // Read on first use (ReadTxn::generation), from this snapshot.
  mutable std::array<std::optional<std::uint64_t>, kCacheKindCount> generations{};
  // Compares every record read with the tag index (set once the snapshot's
  // resourceVersion is known).
  std::optional<SnapshotWatch> watch;

  TxnContext Context() const {
    return {txn.get(), &env->tables(), authenticator.get(), env->map_size_bytes(),
            watch ? &*watch : nullptr};
  }
};

struct WriteTxn::Impl {
  TxnContext context;                  // the nested transaction of one Write()
  std::uint64_t resource_version = 0;  // what this write commits as
  std::array<bool, kCacheKindCount> bumps{};
  // The change this write makes to the store digest (store_digest.h).
  DigestDelta digest_delta;
  // The first storage failure of a mutation: LMDB may have marked the
  // transaction unusable, so the write fails even if `fn` ignored it.
  Status first_failure;
  // Set when the batch started with less free map space than the reserve
  // (map_budget.h): Put and PutMeta then fail with this status.
  Status low_space;
  // The records this write stored or deleted, for the tag index once the
  // batch commits.
  std::vector<TagChange> changes;

  // Remember records `status` when it is a storage failure and returns it.
  Status Remember(Status status);
  // Finish writes the resourceVersion, bumped generations and the changed
  // store digest into kMeta, or returns `first_failure`.
  Status Finish();
};

struct Store::Impl {
  ~Impl();

  // Writer thread: pops batches until the queue is closed and drained.
  void WriterLoop();
  // RunBatch stages, hooks and commits one batch, then fulfils every promise.
  void RunBatch(std::vector<std::unique_ptr<PendingWrite>>& batch);
  // StageAndCommit is RunBatch's work: `results` starts as one placeholder
  // success per write; a staged write's failure is stored there; the return
  // value is the failure of the whole batch (OK when committed).
  Status StageAndCommit(std::vector<std::unique_ptr<PendingWrite>>& batch,
                        std::vector<StatusOr<WriteReceipt>>& results);
  // RunOne runs one write in a child of `parent` as `resource_version`;
  // `low_space` as in WriteTxn::Impl; `start_rv` is the stored
  // resourceVersion the batch started from. A committed write's record
  // changes are added to `batch`.
  StatusOr<WriteReceipt> RunOne(MDB_txn* parent, PendingWrite& write,
                                std::uint64_t resource_version,
                                const RecordAuthenticator* authenticator, const Status& low_space,
                                std::uint64_t start_rv, BatchChanges& batch);
  // LowSpace returns the low-space status for the next batch (OK when the
  // map has room beyond the reserve).
  Status LowSpace() const;

  // Authenticator is read by every snapshot without a lock.
  std::shared_ptr<const RecordAuthenticator> Authenticator() const { return authenticator.Get(); }

  StoreOptions options;
  // Declared first: released last, after LMDB is closed.
  std::optional<ServerLock> server_lock;
  std::shared_ptr<const StoreEnv> env;
  // Shared with every ReadTxn (which may outlive the Store).
  std::shared_ptr<IntegrityWatch> watch;

  mutable std::mutex config_mutex;
  SharedSnapshot<RecordAuthenticator> authenticator;
  PreCommitHook pre_commit_hook;          // guarded by config_mutex
  CommitOutcomeHook commit_outcome_hook;  // guarded by config_mutex
  // The highest resourceVersion staged for a batch that did not commit
  // (writer thread only): later batches start above it.
  std::uint64_t abandoned_version = 0;

  // The store's schema version (Store::schema_version); MigrateSchema
  // runs under migration_mutex, one at a time.
  std::atomic<std::uint32_t> schema_version{0};
  std::mutex migration_mutex;

  WriteQueue queue;
  std::thread writer;
  // Set once in Open; Write() compares against it without touching
  // `writer`, which the destructor joins.
  std::thread::id writer_id;

  // The periodic integrity check (StartIntegrityWatch).
  std::mutex watch_thread_mutex;
  std::condition_variable watch_thread_wake;
  bool watch_thread_stop = false;  // guarded by watch_thread_mutex
  std::thread watch_thread;        // started at most once
  // StopWatchThread stops and joins the periodic check, if it runs.
  void StopWatchThread();
  // CheckIntegrity implements Store::CheckIntegrityNow.
  Status CheckIntegrity();
};

}  // namespace strongroom::storage

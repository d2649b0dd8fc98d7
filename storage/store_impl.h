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
#include <string>
#include <thread>
#include <vector>

#include "base/shared_snapshot.h"
#include "storage/integrity_watch.h"
#include "storage/lmdb_env.h"
#include "storage/record_io.h"
#include "storage/replication.h"
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

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // ~Impl hands the transaction back to the environment's pool, which
  // resets it for a later BeginRead (read_txn_pool.h).
  ~Impl() {
    if (txn.live()) env->read_txns().Release(std::move(txn));
  }

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
  // The kMeta keys this write set (PutMeta, bumped generations, the schema
  // version), for replicated mode (replication.h).
  std::vector<std::string> meta_keys;

  // Remember records `status` when it is a storage failure and returns it.
  Status Remember(Status status);
  // Finish writes the resourceVersion, bumped generations and the changed
  // store digest into kMeta, or returns `first_failure`.
  Status Finish();
};

// BatchFailure turns the reason a whole batch was not committed into what
// its callers get: map full stays kResourceExhausted, the rest kUnavailable.
Status BatchFailure(const Status& cause);

struct Store::Impl {
  ~Impl();

  // Writer thread: pops batches until the queue is closed and drained.
  void WriterLoop();
  // RunBatch stages, hooks and commits one batch, then fulfils every promise
  // (in replicated mode splitting a batch over the cluster's limits).
  void RunBatch(std::vector<std::unique_ptr<PendingWrite>>& batch);
  // RunPart is RunBatch for one part: true once every promise of `batch` is
  // fulfilled; false (none fulfilled) when the batch is to be split.
  bool RunPart(std::vector<std::unique_ptr<PendingWrite>>& batch);
  // StageAndCommit is RunBatch's work: `results` starts as one placeholder
  // success per write; a staged write's failure is stored there; the return
  // value is the failure of the whole batch (OK when committed). In
  // replicated mode `conflict` is set when another node committed first:
  // the batch is to be staged again (results are then meaningless);
  // `replicated` says whether a replicator handled the batch.
  Status StageAndCommit(std::vector<std::unique_ptr<PendingWrite>>& batch,
                        std::vector<StatusOr<WriteReceipt>>& results, bool& conflict,
                        bool& replicated);
  // ReplicateStaged is StageAndCommit's end in replicated mode: hands the
  // batch staged in `parent` (changes, meta keys, the last resourceVersion)
  // to `replicator`, aborts `parent`, and waits until the replica applied
  // the outcome (replication.cc).
  Status ReplicateStaged(BatchReplicator& replicator, LmdbTxn& parent,
                         const TxnContext& parent_context, const BatchChanges& changes,
                         const std::vector<std::string>& meta_keys, std::uint64_t resource_version,
                         std::int64_t base_revision, const CommitOutcomeHook& outcome_hook,
                         bool& conflict);
  // WaitApplied waits until replica_revision >= `revision`: OK, or
  // kUnavailable after `timeout` or when the Store is closing.
  Status WaitApplied(std::int64_t revision, std::chrono::milliseconds timeout);
  // RunOne runs one write in a child of `parent` as `resource_version`;
  // `low_space` as in WriteTxn::Impl; `start_rv` is the stored
  // resourceVersion the batch started from. A committed write's record
  // changes are added to `batch`.
  StatusOr<WriteReceipt> RunOne(MDB_txn* parent, PendingWrite& write,
                                std::uint64_t resource_version,
                                const RecordAuthenticator* authenticator, const Status& low_space,
                                std::uint64_t start_rv, BatchChanges& batch,
                                std::vector<std::string>& meta_keys);
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
  // Replicated mode (replication.h): null in single-node mode.
  std::shared_ptr<BatchReplicator> replicator;  // guarded by config_mutex
  // The last cluster revision applied (kMeta "replica_revision"), and the
  // writer's wait for it.
  std::mutex replica_mu;
  std::condition_variable replica_cv;
  std::int64_t replica_revision = 0;  // guarded by replica_mu
  bool closing = false;               // guarded by replica_mu
  // One ApplyReplicated at a time.
  std::mutex apply_mu;

  // Replicated mode, writer thread only (write_batch.cc): when the batch in
  // hand stops waiting for its outcome, and whether the replicator found it
  // over the cluster's per-transaction limits (then it is split).
  std::chrono::steady_clock::time_point batch_deadline{};
  bool batch_too_large = false;
  // ConflictWait bounds the wait for a conflicting revision: the
  // replicator's apply_timeout, cut at batch_deadline.
  std::chrono::milliseconds ConflictWait(const BatchReplicator& replicator) const;

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

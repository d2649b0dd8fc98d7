// storage/integrity_watch.h — private to storage/: runtime store integrity
// (Store::SetForeignWriteCheck, CheckIntegrityNow, integrity_problem).
//
// IntegrityWatch owns the tag index (tag_index.h) and decides what an
// "unexplained change" means: a read whose record differs from what the
// index says Strongroom last committed. Three positions of the reader's
// snapshot S relative to what the index knows:
//   - S at or below every write the index knows about, with no commit by
//     another process in between: the change cannot be legitimate, so the
//     read fails with kIntegrityError;
//   - S includes a commit by another process (the CLI, SPEC 5): the store
//     owner's ForeignWriteCheck must vouch for it; then the digest check runs
//     in a fresh snapshot and, if it passes, the index is rebuilt from that
//     scan and the record checked again;
//   - S includes this process's own batch, committed but not yet in the
//     index: the reader waits for the writer to publish it.
// A snapshot older than the index's state is checked only against entries
// that did not change since (each entry keeps the resourceVersion of its
// last change), so a request that began before a concurrent write is not
// refused. A snapshot older than one the process already published means the
// store was rolled back underneath it.
//
// The latch: once the periodic check (or a rollback, or a failed rebuild)
// finds the store modified outside Strongroom, every later authenticated
// read and write fails with that kIntegrityError until restart.
//
// Thread-safety: every method may be called from any thread. BeginCommit and
// EndCommit are the writer thread's. Lock order: rebuild_mu_, then
// publish_mu_, then a shard lock (tag_index.h) or state_mu_; no lock is held
// while the ForeignWriteCheck runs except rebuild_mu_ and publish_mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "storage/record_io.h"
#include "storage/storage.h"
#include "storage/tag_index.h"

namespace strongroom::storage {

class StoreEnv;  // store_env.h

class IntegrityWatch {
 public:
  // `index_enabled`: StoreOptions::tag_index.
  IntegrityWatch(std::shared_ptr<const StoreEnv> env, bool index_enabled);

  void SetForeignWriteCheck(Store::ForeignWriteCheck check);
  // Close drops the ForeignWriteCheck: the Store (and whoever installed it)
  // is going away while snapshots may live on; they then fail closed.
  void Close();

  // problem returns the latched failure, or OK.
  Status problem() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // Latch records `why` (kIntegrityError) as the store's failure; the first
  // reason wins.
  void Latch(const Status& why);

  bool armed() const { return armed_.load(std::memory_order_acquire); }
  // published_rv is the highest resourceVersion this process knows the
  // store reached. Read before a snapshot begins: the snapshot must not be
  // older (CheckSnapshot).
  std::uint64_t published_rv() const { return published_rv_.load(std::memory_order_acquire); }
  // CheckSnapshot latches and returns kIntegrityError when the index is
  // armed and `snapshot_rv` < `floor` (published_rv() read before the
  // snapshot began): the store went back in time under the running server.
  Status CheckSnapshot(std::uint64_t floor, std::uint64_t snapshot_rv);

  // CheckRecord implements the comparison described above for a record whose
  // MAC verified (`observed`) or that is absent (null), seen in a snapshot at
  // `snapshot_rv`. OK, the latched problem, or kIntegrityError naming table
  // and key. May block: on an own commit being published, or on a rebuild.
  Status CheckRecord(const RecordAuthenticator* authenticator, Table table, std::string_view key,
                     const ObservedRecord* observed, std::uint64_t snapshot_rv);

  // BeginCommit: the writer is about to commit a batch ending at `end_rv`.
  void BeginCommit(std::uint64_t end_rv);
  // EndCommit: the commit finished. When it succeeded, `changes` (made by
  // the batch that started from stored resourceVersion `start_rv`) enter the
  // index. REQUIRES: after BeginCommit, on the writer thread.
  void EndCommit(const Status& committed, std::uint64_t start_rv, std::uint64_t end_rv,
                 std::span<const TagChange> changes);

  // Verify runs VerifyDigest in a fresh snapshot (Store::VerifyIntegrity).
  // When the index is enabled and not yet armed, the same scan builds and
  // arms it. kIntegrityError also for a snapshot older than published_rv().
  // Never latches. Returns the snapshot's resourceVersion.
  StatusOr<std::uint64_t> Verify(const RecordAuthenticator& authenticator);
  // CheckNow is one periodic check: Verify, latching a kIntegrityError, and
  // dropping tombstones older than the previous check (a snapshot outlives
  // no check interval).
  Status CheckNow(const RecordAuthenticator& authenticator);

  TagIndexStats index_stats() const { return index_.stats(); }

 private:
  // ForeignToVouch returns the highest resourceVersion at or below `rv` that
  // another process may have committed, or nullopt when none can have been;
  // `own_through` is the highest resourceVersion known to be this
  // process's. REQUIRES: state_mu_ held.
  std::optional<std::uint64_t> ForeignToVouch(std::uint64_t rv, std::uint64_t own_through) const;
  // Vouch asks the ForeignWriteCheck for `rv`: OK or kIntegrityError. On
  // OK, `vouched` is what the check vouched for (>= rv).
  Status Vouch(std::uint64_t rv, Table table, std::string_view key, std::uint64_t& vouched);
  // Rebuild re-verifies the store in a fresh snapshot and rebuilds the index
  // from that scan, unless another rebuild finished after `seen_rebuilds`.
  // Foreign commits in the fresh snapshot above `vouched` are vouched for
  // first.
  Status Rebuild(const RecordAuthenticator& authenticator, std::uint64_t seen_rebuilds,
                 std::uint64_t vouched, Table table, std::string_view key);
  // Install replaces the index with `contents`, verified in a snapshot at
  // `snapshot_rv`, and arms it. REQUIRES: rebuild_mu_ and publish_mu_ held.
  void Install(TagIndexContents contents, std::uint64_t snapshot_rv);
  TagIndex::Verdict Compare(Table table, std::string_view key, const ObservedRecord* observed,
                            std::uint64_t snapshot_rv) const;

  const std::shared_ptr<const StoreEnv> env_;
  const bool index_enabled_;
  TagIndex index_;
  std::atomic<bool> armed_{false};
  std::atomic<std::uint64_t> published_rv_{0};  // written under state_mu_

  mutable std::mutex config_mu_;
  Store::ForeignWriteCheck foreign_write_check_;  // guarded by config_mu_

  std::atomic<bool> failed_{false};
  mutable std::mutex problem_mu_;
  Status problem_;  // guarded by problem_mu_

  std::mutex rebuild_mu_;  // one rebuild (or arming) at a time
  std::mutex publish_mu_;  // the index changes under it (EndCommit, rebuild)

  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;  // an own commit was published
  // The index's base: the snapshot it was last built from.
  std::uint64_t base_rv_ = 0;               // guarded by state_mu_
  std::uint64_t committing_end_rv_ = 0;     // guarded; 0 when no commit runs
  bool foreign_gap_ = false;                // guarded; a foreign commit since base
  std::uint64_t first_foreign_rv_ = 0;      // guarded; lowest such commit
  std::uint64_t last_foreign_rv_ = 0;       // guarded; highest known such commit
  std::atomic<std::uint64_t> rebuilds_{0};  // written under publish_mu_

  std::mutex check_mu_;                  // one CheckNow at a time
  std::uint64_t previous_check_rv_ = 0;  // guarded by check_mu_
};

// SnapshotWatch is the RecordWatch of one ReadTxn.
class SnapshotWatch final : public RecordWatch {
 public:
  SnapshotWatch(std::shared_ptr<IntegrityWatch> watch, std::uint64_t snapshot_rv)
      : watch_(std::move(watch)), snapshot_rv_(snapshot_rv) {}
  Status Check(const TxnContext& ctx, Table table, std::string_view key,
               const ObservedRecord* observed) const override {
    return watch_->CheckRecord(ctx.authenticator, table, key, observed, snapshot_rv_);
  }

 private:
  std::shared_ptr<IntegrityWatch> watch_;
  std::uint64_t snapshot_rv_;
};

// BatchChanges collects the changes of a batch's committed writes.
struct BatchChanges {
  std::vector<TagChange> changes;
  std::unordered_set<std::string> keys;  // ChangeKey of each
  static std::string ChangeKey(Table table, std::string_view key);
  void Add(std::vector<TagChange>&& more);
};

// WriterWatch is the RecordWatch of one WriteTxn. A record this batch (or
// this write) already changed is not compared: nothing else can write while
// the batch holds LMDB's write lock, and the index learns the batch's
// changes only after its commit.
class WriterWatch final : public RecordWatch {
 public:
  WriterWatch(IntegrityWatch* watch, std::uint64_t snapshot_rv, const BatchChanges* batch,
              const std::vector<TagChange>* own)
      : watch_(watch), snapshot_rv_(snapshot_rv), batch_(batch), own_(own) {}
  Status Check(const TxnContext& ctx, Table table, std::string_view key,
               const ObservedRecord* observed) const override;

 private:
  IntegrityWatch* watch_;
  std::uint64_t snapshot_rv_;
  const BatchChanges* batch_;
  const std::vector<TagChange>* own_;
};

}  // namespace strongroom::storage

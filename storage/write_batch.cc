// The writer thread: takes queued Write() calls in batches, runs each in its
// own nested transaction of one parent write transaction, lets the
// pre-commit hook see the staged writes, and commits the parent once.
//
// SECURITY/durability: a caller is answered only after the batch commit
// returned, so an acknowledged write is on disk (LMDB syncs at commit). When
// the hook or the commit fails nothing of the batch is stored and every
// caller whose write was staged gets an error.
#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "storage/map_budget.h"
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// kMaxReplicatedBatch bounds the Write() calls of one cluster transaction.
constexpr std::size_t kMaxReplicatedBatch = 32;
// kMaxReplicatedAttempts bounds how often one batch is staged again after
// losing to another node's write.
constexpr int kMaxReplicatedAttempts = 50;

// Call runs a caller-supplied function (a write or the hook). An exception
// must not kill the writer thread: it becomes kInternal.
template <typename Fn, typename... Args>
Status Call(std::string_view what, const Fn& fn, Args&&... args) {
  try {
    return fn(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Status::Internal(std::string(what) + " threw");
  }
}

}  // namespace

Status BatchFailure(const Status& cause) {
  if (cause.code() == StatusCode::kResourceExhausted) return cause;
  return Status::Unavailable("the write was not committed: " + cause.message());
}

void Store::Impl::WriterLoop() {
  for (;;) {
    std::size_t max_batch = options.max_batch;
    {
      // A cluster transaction holds a bounded number of operations (etcd's
      // --max-txn-ops, 128 by default): replicated batches stay smaller.
      std::lock_guard lock(config_mutex);
      if (replicator != nullptr) max_batch = std::min(max_batch, kMaxReplicatedBatch);
    }
    std::vector<std::unique_ptr<PendingWrite>> batch = queue.PopBatch(max_batch);
    if (batch.empty()) return;  // closed and drained
    RunBatch(batch);
  }
}

void Store::Impl::RunBatch(std::vector<std::unique_ptr<PendingWrite>>& batch) {
  std::vector<StatusOr<WriteReceipt>> results;
  Status batch_status;
  // Only replicated mode sets `conflict`: the batch lost to another node's
  // and is staged again on the replica that now holds the winner's changes.
  for (int attempt = 1;; ++attempt) {
    results.assign(batch.size(), WriteReceipt{0});
    bool conflict = false;
    batch_status = StageAndCommit(batch, results, conflict);
    if (!conflict) break;
    if (attempt >= kMaxReplicatedAttempts) {
      batch_status = Status::Unavailable("the write was not committed: it conflicted with other "
                                         "nodes' writes " +
                                         std::to_string(attempt) + " times");
      break;
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // A write whose own function failed keeps that error; the others share
    // the batch's fate.
    if (!batch_status.ok() && results[i].has_value()) {
      results[i] = std::unexpected(batch_status);
    }
    batch[i]->done.set_value(std::move(results[i]));
  }
}

Status Store::Impl::StageAndCommit(std::vector<std::unique_ptr<PendingWrite>>& batch,
                                   std::vector<StatusOr<WriteReceipt>>& results, bool& conflict) {
  std::shared_ptr<const RecordAuthenticator> authenticator = Authenticator();
  PreCommitHook hook;
  CommitOutcomeHook outcome_hook;
  std::shared_ptr<BatchReplicator> batch_replicator;
  {
    std::lock_guard lock(config_mutex);
    hook = pre_commit_hook;
    outcome_hook = commit_outcome_hook;
    batch_replicator = replicator;
  }
  const std::size_t map_size = env->map_size_bytes();
  const Status low_space = LowSpace();
  StatusOr<LmdbTxn> parent = LmdbTxn::Begin(env->env(), nullptr, 0, map_size);
  if (!parent.has_value()) return BatchFailure(parent.error());
  TxnContext parent_context{parent->get(), &env->tables(), authenticator.get(), map_size};
  StatusOr<std::uint64_t> version = GetMetaU64(parent_context, kResourceVersionKey);
  if (!version.has_value()) return BatchFailure(version.error());
  std::int64_t base_revision = 0;
  if (batch_replicator != nullptr) {
    StatusOr<std::uint64_t> applied = GetMetaU64(parent_context, kReplicaRevisionKey);
    if (!applied.has_value()) return BatchFailure(applied.error());
    base_revision = static_cast<std::int64_t>(*applied);
  }

  // Versions staged for a batch that was audited but not committed are not
  // reused: each audit record names one write.
  std::uint64_t resource_version = std::max(*version, abandoned_version);
  std::vector<StagedWrite> staged;
  staged.reserve(batch.size());
  BatchChanges changes;
  std::vector<std::string> meta_keys;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    results[i] = RunOne(parent->get(), *batch[i], resource_version + 1, authenticator.get(),
                        low_space, *version, changes, meta_keys);
    if (!results[i].has_value()) continue;
    ++resource_version;
    staged.push_back(StagedWrite{resource_version, batch[i]->tag});
  }
  if (staged.empty()) {
    // Nothing to commit; `parent` aborts. In replicated mode the failures
    // stand only if they were decided on the cluster's current state.
    if (batch_replicator != nullptr) {
      parent->Abort();
      StatusOr<ReplicatedCommit> current = batch_replicator->Validate(base_revision);
      if (current.has_value() && !current->committed) {
        SR_RETURN_IF_ERROR(WaitApplied(current->revision, batch_replicator->apply_timeout()));
        conflict = true;
      }
    }
    return Status::Ok();
  }

  // SECURITY: bind the store digest to the resourceVersion this batch
  // commits as, before the hook sees (and audits) the batch. Without an
  // authenticator only kMeta can have changed (Put and Delete need one); a
  // store without authenticated records needs no digest MAC
  // (VerifyIntegrity).
  if (authenticator != nullptr) {
    Status sealed = RefreshDigestMac(parent_context, resource_version);
    if (!sealed.ok()) {
      return BatchFailure(sealed.WithContext("cannot refresh the store digest MAC"));
    }
  }

  if (hook) {
    Status hooked = Call("pre-commit hook", hook, std::span<const StagedWrite>(staged));
    if (!hooked.ok()) {
      abandoned_version = resource_version;
      return Status::Unavailable("the write was not committed: pre-commit hook failed: " +
                                 hooked.message());
    }
  }
  if (batch_replicator != nullptr) {
    return ReplicateStaged(*batch_replicator, *parent, parent_context, changes, meta_keys,
                           resource_version, base_revision,
                           hook ? outcome_hook : CommitOutcomeHook(), conflict);
  }
  // The tag index learns the batch's changes only once they are committed;
  // readers that meet them earlier wait for EndCommit.
  watch->BeginCommit(resource_version);
  Status committed = parent->Commit(map_size);
  watch->EndCommit(committed, *version, resource_version, changes.changes);
  if (!committed.ok()) abandoned_version = resource_version;
  if (hook && outcome_hook) outcome_hook(committed);
  if (!committed.ok()) return BatchFailure(committed);
  return Status::Ok();
}

Status Store::Impl::LowSpace() const {
  const std::size_t map_size = env->map_size_bytes();
  const std::size_t reserve = ReserveBytes(map_size);
  StatusOr<std::size_t> free_bytes = FreeMapBytes(env->env(), reserve);
  // If free space cannot be measured, LMDB's own MDB_MAP_FULL still guards.
  if (!free_bytes.has_value() || *free_bytes >= reserve) return Status::Ok();
  return LowSpaceStatus(map_size, *free_bytes);
}

StatusOr<WriteReceipt> Store::Impl::RunOne(MDB_txn* parent, PendingWrite& write,
                                           std::uint64_t resource_version,
                                           const RecordAuthenticator* authenticator,
                                           const Status& low_space, std::uint64_t start_rv,
                                           BatchChanges& batch,
                                           std::vector<std::string>& meta_keys) {
  const std::size_t map_size = env->map_size_bytes();
  SR_ASSIGN_OR_RETURN(LmdbTxn child, LmdbTxn::Begin(env->env(), parent, 0, map_size));
  WriteTxn::Impl impl;
  WriterWatch writer_watch(watch.get(), start_rv, &batch, &impl.changes);
  impl.context = TxnContext{child.get(), &env->tables(), authenticator, map_size, &writer_watch};
  impl.resource_version = resource_version;
  impl.low_space = low_space;
  WriteTxn txn(&impl);
  Status status = Call("write function", write.fn, txn);
  if (status.ok()) status = impl.Finish();
  // On failure `child` aborts here and takes only this write's changes.
  if (!status.ok()) return std::unexpected(std::move(status));
  SR_RETURN_IF_ERROR(child.Commit(map_size));
  batch.Add(std::move(impl.changes));
  meta_keys.insert(meta_keys.end(), impl.meta_keys.begin(), impl.meta_keys.end());
  return WriteReceipt{resource_version};
}

}  // namespace strongroom::storage

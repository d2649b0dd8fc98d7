// The writer thread: takes queued Write() calls in batches, runs each in its
// own nested transaction of one parent write transaction, lets the
// pre-commit hook see the staged writes, and commits the parent once.
//
// SECURITY/durability: a caller is answered only after the batch commit
// returned, so an acknowledged write is on disk (LMDB syncs at commit). When
// the hook or the commit fails nothing of the batch is stored and every
// caller whose write was staged gets an error.
#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "storage/map_budget.h"
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// kMaxReplicatedBatch bounds the Write() calls of one cluster transaction.
constexpr std::size_t kMaxReplicatedBatch = 32;
// kReplicatedLinger bounds how long a replicated batch waits to fill
// (WriterLoop); a fraction of one etcd transaction's round trip.
constexpr std::chrono::microseconds kReplicatedLinger{1000};
// kMaxReplicatedAttempts bounds how often one batch is staged again after
// losing to another node's write (the batch deadline usually ends it first).
constexpr int kMaxReplicatedAttempts = 50;
// The pause between a lost conflict and the next attempt doubles from
// kFirstBackoff up to kMaxBackoff, with jitter, so two busy nodes do not
// keep colliding in step.
constexpr std::chrono::milliseconds kFirstBackoff{2};
constexpr std::chrono::milliseconds kMaxBackoff{64};

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
  // Map full stays kResourceExhausted; a cluster write whose outcome is
  // unknown must not be reported as "not committed".
  if (cause.code() == StatusCode::kResourceExhausted ||
      cause.code() == StatusCode::kOutcomeUnknown) {
    return cause;
  }
  return Status::Unavailable("the write was not committed: " + cause.message());
}

void Store::Impl::WriterLoop() {
  // In replicated mode, the writers the last batch answered plus those that
  // queued meanwhile: how many writes the next batch expects (Gather).
  std::size_t expected = 0;
  for (;;) {
    std::size_t max_batch = options.max_batch;
    bool replicated = false;
    {
      // A cluster transaction holds a bounded number of operations (etcd's
      // --max-txn-ops, 128 by default): replicated batches stay smaller.
      std::lock_guard lock(config_mutex);
      replicated = replicator != nullptr;
      if (replicated) max_batch = std::min(max_batch, kMaxReplicatedBatch);
    }
    // A cluster batch takes an etcd round trip (milliseconds): the writers
    // it answered come back within a fraction of that, and waiting for them
    // lets one transaction carry them all instead of alternating half
    // batches (measured: 3.9 writes per batch of 8 clients without it).
    const Gather gather = replicated ? Gather{expected, kReplicatedLinger} : Gather{};
    std::vector<std::unique_ptr<PendingWrite>> batch = queue.PopBatch(max_batch, gather);
    if (batch.empty()) return;  // closed and drained
    const std::size_t popped = batch.size();
    RunBatch(batch);
    expected = popped + queue.size();
  }
}

std::chrono::milliseconds Store::Impl::ConflictWait(const BatchReplicator& replicator) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      batch_deadline - std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::milliseconds::zero(), replicator.apply_timeout());
}

void Store::Impl::RunBatch(std::vector<std::unique_ptr<PendingWrite>>& batch) {
  std::shared_ptr<BatchReplicator> current;
  {
    std::lock_guard lock(config_mutex);
    current = replicator;
  }
  // Replicated mode: one deadline covers the batch's commit, the resolution
  // of a lost answer, every re-staging after a conflict and every split, so
  // a writer thread is never held past it (SPEC 8: 503, never a hang).
  batch_deadline = current != nullptr
                       ? std::chrono::steady_clock::now() + current->write_timeout()
                       : std::chrono::steady_clock::time_point{};
  // A batch over the cluster's per-transaction limits is halved and each
  // half staged again, first half first (arrival order is kept).
  std::deque<std::vector<std::unique_ptr<PendingWrite>>> parts;
  parts.push_back(std::move(batch));
  while (!parts.empty()) {
    std::vector<std::unique_ptr<PendingWrite>> part = std::move(parts.front());
    parts.pop_front();
    if (RunPart(part)) continue;
    const auto middle = part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2);
    std::vector<std::unique_ptr<PendingWrite>> second(std::make_move_iterator(middle),
                                                      std::make_move_iterator(part.end()));
    part.erase(middle, part.end());
    parts.push_front(std::move(second));
    parts.push_front(std::move(part));
  }
}

bool Store::Impl::RunPart(std::vector<std::unique_ptr<PendingWrite>>& batch) {
  std::vector<StatusOr<WriteReceipt>> results;
  Status batch_status;
  bool replicated = false;
  std::chrono::milliseconds backoff = kFirstBackoff;
  // Only replicated mode sets `conflict`: the batch lost to another node's
  // and is staged again on the replica that now holds the winner's changes.
  for (int attempt = 1;; ++attempt) {
    results.assign(batch.size(), WriteReceipt{0});
    bool conflict = false;
    batch_too_large = false;
    batch_status = StageAndCommit(batch, results, conflict, replicated);
    if (batch_too_large) {
      if (batch.size() > 1) return false;  // split by RunBatch
      batch_status = Status::InvalidArgument(
          "this write alone is over the cluster's limits for one transaction (etcd's " +
          std::to_string(kClusterTxnOps) + " operations or " +
          std::to_string(kClusterTxnBytes / 1024) +
          " KiB): it changes too many or too large records");
      break;
    }
    if (!conflict) break;
    const auto now = std::chrono::steady_clock::now();
    if (attempt >= kMaxReplicatedAttempts || now >= batch_deadline) {
      batch_status = Status::Unavailable(
          "the write was not committed: it conflicted with other nodes' writes " +
          std::to_string(attempt) + " times before its deadline");
      break;
    }
    // Jitter: a pause between half and all of `backoff`.
    thread_local std::minstd_rand jitter(std::random_device{}());
    const auto pause = std::chrono::milliseconds(
        backoff.count() / 2 + static_cast<std::int64_t>(jitter() % (backoff.count() / 2 + 1)));
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        pause, batch_deadline - now));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // In single-node mode a write whose own function failed keeps that
    // error; the others share the batch's fate. In replicated mode a batch
    // that failed as a whole may have run its functions on a stale replica
    // (a 404 for a key the cluster has): every write gets the batch's error.
    if (!batch_status.ok() && (results[i].has_value() || replicated)) {
      results[i] = std::unexpected(batch_status);
    }
    batch[i]->done.set_value(std::move(results[i]));
  }
  return true;
}

Status Store::Impl::StageAndCommit(std::vector<std::unique_ptr<PendingWrite>>& batch,
                                   std::vector<StatusOr<WriteReceipt>>& results, bool& conflict,
                                   bool& replicated) {
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
  replicated = batch_replicator != nullptr;
  if (batch_replicator == nullptr) {
    // SECURITY: a store that joined a cluster is written only through it: a
    // local commit would fork its digest from the cluster's (every later
    // batch refused, the write never replicated). The CLI and anything
    // running before Replica::Start installed its replicator end here.
    std::lock_guard lock(replica_mu);
    if (replica_revision != 0) {
      return Status::FailedPrecondition(
          "this store is a cluster replica: write through the cluster");
    }
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
        SR_RETURN_IF_ERROR(WaitApplied(current->revision, ConflictWait(*batch_replicator)));
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

// storage/replication.h — the seam between the store and a replicated source
// of truth (issue 18, docs/cluster-design.md). storage/'s second public
// header: only the module that replicates (replica/) and its tests need it,
// so storage.h only forward-declares these types and every other reader of
// the store is unaffected.
//
// Single-node mode installs no replicator and nothing here runs: the writer
// thread commits its batches to LMDB exactly as storage.h describes.
//
// Replicated mode (Store::SetReplicator): the writer thread stages a batch
// exactly as in single-node mode (one nested LMDB transaction per Write():
// generations, record MACs, the digest delta, the pre-commit hook), then
// hands the batch's net changes (ReplicatedBatch) to the BatchReplicator and
// aborts its LMDB transaction. Nothing reaches LMDB except through
// Store::ApplyReplicated, which the replicator's apply loop calls for every
// batch the cluster committed, in order; a caller of Write() is answered only
// once this node has applied the revision its batch committed as
// (read-your-writes on the node that wrote). A conflict (another node
// committed first) makes the writer wait until the replica has applied the
// revision that moved the cluster, then stage the whole batch again on the
// fresh replica, running every write function again: REQUIRES of a write
// function that it has no effect outside its WriteTxn.
//
// The batch digest record travels with every batch: D (store_digest.h) ‖
// resourceVersion ‖ Tag(kMeta, "replicated_state", resourceVersion, D ‖ the
// replicated kMeta set: every kMeta value but the counters, in key order,
// each as u32-length key ‖ u32-length value). It is the one key every
// cluster transaction compares, so the cluster's writes are serialised and
// resourceVersion is the same, strictly increasing write sequence on every
// node. The local kMeta "store_digest_mac" (store_digest.h) is not sent:
// each node computes it, so a replica's LMDB file is laid out exactly as a
// single node's.
//
// SECURITY: ApplyReplicated verifies every record's MAC, recomputes D from
// the replica and the batch and refuses the batch (applying nothing) unless
// it equals the batch's digest record, whose MAC binds D and the kMeta set
// the batch leaves to a resourceVersion that must exceed the replica's: a
// forged record, an old valid record put back, a kMeta value set or deleted
// outside Strongroom, or an old digest record replayed is never applied. A
// full state (kFull) at the replica's own resourceVersion must be the
// replica's state; one below a trusted floor is refused. What remains open
// (docs/cluster-design.md): a full read of a node with no floor, or of the
// writes after the floor, accepts any MAC-valid state above it.
//
// Thread-safety: Store's methods below may be called from any thread.
// BatchReplicator::Commit runs on the writer thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

// ReplicatedChange is one key a batch changed: a record of an authenticated
// table (value = the exact stored bytes: format, generation, value, MAC) or
// a kMeta value a write set (value = its bytes). nullopt: the record was
// deleted. The store's own kMeta counters (resource_version, store_digest,
// store_digest_mac, replica_revision) never appear: the digest record
// carries them.
struct ReplicatedChange {
  Table table = Table::kMeta;
  std::string key;
  std::optional<Bytes> value;
};

// ReplicatedBatch is what one cluster transaction carries.
struct ReplicatedBatch {
  std::vector<ReplicatedChange> changes;
  // EncodeDigestRecord's output for the state after the batch.
  Bytes digest_record;
  // The cluster revision of the digest record the batch was staged on (the
  // replica's replica_revision()); the transaction compares it. Set by the
  // writer; ignored by ApplyReplicated.
  std::int64_t base_revision = 0;
  // When the writer stops waiting for this batch's outcome (Commit, the
  // resolution of a lost answer, re-staging). Set by the writer; default
  // (the epoch): the replicator's own bound.
  std::chrono::steady_clock::time_point deadline{};
};

// kDigestRecordSize: 32 bytes D, 8 bytes resourceVersion (big-endian), 32
// bytes MAC (the "replicated_state" tag above).
inline constexpr std::size_t kDigestRecordSize = 72;

// DigestRecordVersion returns the resourceVersion a digest record names;
// kIntegrityError when it is not kDigestRecordSize bytes. Unverified.
StatusOr<std::uint64_t> DigestRecordVersion(ByteSpan digest_record);

// ReplicatedCommit is the replicator's answer for a batch.
struct ReplicatedCommit {
  // true: the cluster committed the batch at `revision`. false: another node
  // moved the digest first (a conflict); `revision` is the digest record's
  // revision now, which the writer waits to apply before staging again.
  bool committed = false;
  std::int64_t revision = 0;
  // too_large: not committed and nothing sent, because the batch is over
  // the cluster's per-transaction limits (operations or bytes); the writer
  // splits it and stages each half again (`revision` is base_revision).
  bool too_large = false;
};

// BatchReplicator sends a staged batch to the cluster.
class BatchReplicator {
 public:
  virtual ~BatchReplicator() = default;
  // Commit commits `batch` as one transaction if the cluster's digest record
  // is still at batch.base_revision. An error (kUnavailable when the cluster
  // cannot be reached, kResourceExhausted when the cluster's quota is hit)
  // means not committed, except kOutcomeUnknown: the transaction was sent
  // and whether it committed could not be learnt by batch.deadline. The
  // writer answers every write of the batch with the error.
  virtual StatusOr<ReplicatedCommit> Commit(const ReplicatedBatch& batch) = 0;
  // Validate is asked instead of Commit when every write of a batch failed
  // (nothing to commit): committed = true when the cluster's digest record
  // is still at `base_revision` (the failures were decided on current
  // data), else a conflict as Commit's, and the writes are run again on the
  // fresh replica. An error keeps the writes' own failures (decided on the
  // replica, as a read is). Default: committed.
  virtual StatusOr<ReplicatedCommit> Validate(std::int64_t base_revision) {
    return ReplicatedCommit{true, base_revision};
  }
  // apply_timeout bounds how long the writer waits for the replica to apply
  // a revision (its own commit, or a conflicting one) before it answers
  // kUnavailable. Default 10 s.
  virtual std::chrono::milliseconds apply_timeout() const { return std::chrono::seconds(10); }
  // write_timeout bounds one batch from its first staging to its answer
  // (commit, resolving a lost answer, re-staging after conflicts, splits):
  // past it the writes get kUnavailable (or kOutcomeUnknown). Default 3 s.
  virtual std::chrono::milliseconds write_timeout() const { return std::chrono::seconds(3); }
};

// kClusterTxnOps and kClusterTxnBytes are the limits of one cluster
// transaction the replicator enforces (etcd's default --max-txn-ops, and a
// margin under its default --max-request-bytes of 1.5 MiB): a batch over
// them is answered ReplicatedCommit::too_large and split by the writer.
inline constexpr std::size_t kClusterTxnOps = 128;
inline constexpr std::size_t kClusterTxnBytes = 1024 * 1024;

// ApplyMode says what ApplyReplicated's batch describes.
enum class ApplyMode {
  // The changes of one cluster revision (the apply loop's stream).
  kIncremental,
  // The whole replicated state at one revision (bootstrap or catch-up after
  // compaction): every record and kMeta value not in the batch is deleted.
  // The digest record's resourceVersion may equal the replica's, if the
  // state is the replica's.
  kFull,
  // As kFull, for a replica that has never applied a cluster revision and
  // whose own state the operator chose to discard (ReplicaOptions::
  // discard_local_data): the state replaces the replica's whatever its
  // resourceVersion (only `trusted_floor` bounds it). kFailedPrecondition
  // once the replica applied a revision.
  kReplace,
};

}  // namespace strongroom::storage

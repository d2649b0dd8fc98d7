// replica/etcd_replicator.h — the BatchReplicator of the several-node mode:
// one etcd transaction per batch the writer thread staged.
//
//   compare   mod_revision(P meta/store_digest) == batch.base_revision
//             mod_revision(P attempt/<node>)    == the last this node saw
//   success   the batch's puts and deletes, the new digest record, and
//             P attempt/<node> = this attempt's nonce
//   failure   reads of the digest key (its revision now: a conflict) and
//             of the attempt key
//
// Every write goes through the digest key, so the first comparison
// serialises the cluster's writes; the per-record checks (a stale
// resourceVersion, a create of an existing key) ran when the batch was
// staged on the replica, which held exactly the state of base_revision.
//
// "Outcome unknown" (the request was sent, no answer or an unreadable one
// came): the attempt key is this node's alone and every attempt writes a
// nonce never used before, so it resolves without reading anyone else's
// digest record (two batches that change only kMeta values carry identical
// digest records). The replicator sends a fence: a transaction that writes
// a fresh nonce to the attempt key if its mod revision is still the one
// the lost transaction compared.
//   - the fence commits: the lost transaction's second comparison can never
//     hold again, so it never commits: truly "not committed";
//   - the fence's comparison fails: the attempt key moved, and only this
//     node's writer writes it; holding the lost attempt's nonce, the lost
//     transaction committed, at the key's mod revision;
//   - the fence's own answer is lost: it is sent again (it compares the same
//     revision, so at most one fence applies; finding the fence's nonce
//     means it did) until batch.deadline, then kOutcomeUnknown.
// The fence writes no store key: the apply loop ignores its revision.
//
// Node names: only one running process holds a node name (Replica claims
// P names/<node> under its lease). With `name_lease` set, every write
// transaction also compares that the name key is still attached to this
// process's lease, so a process whose claim lapsed (cut off from etcd longer
// than the lease) commits nothing and cannot race the name's new holder on
// the attempt key.
//
// "Never sent": the client answers kUnavailable for a write only when the
// request never left this process (cluster/etcd_client.h); that is "not
// committed" at once, with no fence. kOutcomeUnknown (sent, no answer, or an
// answer etcd gives when it may have applied the request) and kInternal (an
// unreadable answer) are resolved by the fence.
//
// Thread-safety: Commit and Validate run on the store's writer thread only;
// `client` may be shared with other users.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/etcd_client.h"
#include "replica/key_layout.h"
#include "storage/replication.h"

namespace strongroom::replica {

// kMaxTxnOps is etcd's default --max-txn-ops: a batch with more operations
// (its changes, the digest record and the attempt key) is split by the
// writer; kMaxTxnBytes bounds the keys and values of one transaction under
// etcd's default --max-request-bytes (1.5 MiB).
inline constexpr std::size_t kMaxTxnOps = storage::kClusterTxnOps;
inline constexpr std::size_t kMaxTxnBytes = storage::kClusterTxnBytes;

// TxnFault is what a test-only fault does to one transaction of the write
// path: nothing, lose the request (never sent, no answer) or lose the
// answer (sent and applied by etcd, the answer dropped).
enum class TxnFault { kNone, kLoseRequest, kLoseAnswer };
// TxnFaultHook is asked before each transaction ("commit" or "fence").
// Tests only: production passes none. An answer lost for real cannot be
// produced on demand against a real etcd, so this is the one fault mocked.
using TxnFaultHook = std::function<TxnFault(std::string_view what)>;

struct EtcdReplicatorOptions {
  // node_name names this node's attempt key. REQUIRES: IsNodeName
  // (base/node_name.h), unique among the cluster's nodes.
  std::string node_name;
  // write_timeout: the batch deadline (storage::BatchReplicator). Default 3 s.
  std::chrono::milliseconds write_timeout{3000};
  // fault: tests only (TxnFaultHook). Default none.
  TxnFaultHook fault;
  // name_lease returns the lease of this process's claim on node_name
  // (KeyLayout::NameKey), compared by every write transaction; 0 means the
  // claim is not held: Commit sends nothing (kUnavailable). Default none: no
  // claim is compared (tests of the replicator alone).
  std::function<std::int64_t()> name_lease;
};

class EtcdReplicator final : public storage::BatchReplicator {
 public:
  // `healthy` returns OK while the node's apply loop runs and its watch is
  // connected: a node that does not see the cluster's changes cannot answer
  // after its own write, so it sends nothing (kUnavailable with the reason).
  EtcdReplicator(std::shared_ptr<cluster::EtcdClient> client, KeyLayout layout,
                 std::function<Status()> healthy, EtcdReplicatorOptions options = {});

  // Commit: storage::BatchReplicator. Answers too_large (nothing sent) for a
  // batch over kMaxTxnOps or kMaxTxnBytes; kOutcomeUnknown only when a sent
  // transaction's outcome could not be resolved by batch.deadline.
  StatusOr<storage::ReplicatedCommit> Commit(const storage::ReplicatedBatch& batch) override;
  // Validate reads the digest key (linearizable): one read, no revision.
  StatusOr<storage::ReplicatedCommit> Validate(std::int64_t base_revision) override;
  std::chrono::milliseconds write_timeout() const override { return options_.write_timeout; }

  // fences counts the fences sent (tests: a lost answer was resolved).
  std::uint64_t fences() const { return fences_.load(); }

 private:
  // Send runs one transaction of the write path, through the fault hook.
  StatusOr<cluster::TxnResult> Send(const cluster::TxnRequest& txn, std::string_view what);
  // Resolve learns the outcome of the attempt that wrote `nonce` and whose
  // answer never came (the fence above).
  StatusOr<storage::ReplicatedCommit> Resolve(const storage::ReplicatedBatch& batch,
                                              const std::string& nonce, const Status& why);
  // NextNonce returns a value the attempt key never held.
  std::string NextNonce();

  std::shared_ptr<cluster::EtcdClient> client_;
  KeyLayout layout_;
  std::function<Status()> healthy_;
  const EtcdReplicatorOptions options_;
  const std::string attempt_key_;
  const std::string name_key_;
  const std::string instance_;  // random, per replicator: part of every nonce
  std::uint64_t attempts_ = 0;
  // The attempt key's mod revision as this node last learnt it (0: absent);
  // nullopt when unknown (read before the next attempt).
  std::optional<std::int64_t> attempt_revision_;
  std::atomic<std::uint64_t> fences_{0};
};

// ToEtcdOps turns a batch's changes into puts and deletes under `layout`,
// the digest record last.
std::vector<cluster::TxnOp> ToEtcdOps(const KeyLayout& layout,
                                      const storage::ReplicatedBatch& batch);

}  // namespace strongroom::replica

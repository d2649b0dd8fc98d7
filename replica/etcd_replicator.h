// replica/etcd_replicator.h — the BatchReplicator of the several-node mode:
// one etcd transaction per batch the writer thread staged.
//
//   compare   mod_revision(P meta/store_digest) == batch.base_revision
//   success   the batch's puts and deletes, and the new digest record
//   failure   a read of the digest key (its revision now: a conflict)
//
// Every write goes through the digest key, so this one comparison
// serialises the cluster's writes; the per-record checks (a stale
// resourceVersion, a create of an existing key) ran when the batch was
// staged on the replica, which held exactly the state of base_revision.
//
// "Outcome unknown" (the request was sent, no answer came): the digest key
// is read; its value is unique to one batch (resourceVersion and D under
// the MAC), so equal bytes mean it committed at the key's revision, a digest
// moved past base_revision by others means it never will (a conflict), and
// anything else stays kUnavailable.
//
// Thread-safety: Commit runs on the store's writer thread; `client` may be
// shared with other users.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "cluster/etcd_client.h"
#include "replica/key_layout.h"
#include "storage/replication.h"

namespace strongroom::replica {

// kMaxTxnOps is etcd's default --max-txn-ops: a batch with more operations
// (its changes plus the digest record) is refused with kResourceExhausted.
inline constexpr std::size_t kMaxTxnOps = 128;

class EtcdReplicator final : public storage::BatchReplicator {
 public:
  // `healthy` returns OK while the node's apply loop runs: a node that
  // stopped applying cannot answer after its own write, so it writes
  // nothing (kUnavailable with the reason).
  EtcdReplicator(std::shared_ptr<cluster::EtcdClient> client, KeyLayout layout,
                 std::function<Status()> healthy);

  StatusOr<storage::ReplicatedCommit> Commit(const storage::ReplicatedBatch& batch) override;
  // Validate reads the digest key (linearizable): one read, no revision.
  StatusOr<storage::ReplicatedCommit> Validate(std::int64_t base_revision) override;

 private:
  // Resolve learns the outcome of a transaction whose answer never came.
  StatusOr<storage::ReplicatedCommit> Resolve(const storage::ReplicatedBatch& batch,
                                              const Status& why);

  std::shared_ptr<cluster::EtcdClient> client_;
  KeyLayout layout_;
  std::function<Status()> healthy_;
};

// ToEtcdOps turns a batch's changes into puts and deletes under `layout`.
std::vector<cluster::TxnOp> ToEtcdOps(const KeyLayout& layout,
                                      const storage::ReplicatedBatch& batch);

}  // namespace strongroom::replica

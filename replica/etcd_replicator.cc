#include "replica/etcd_replicator.h"

#include <string>
#include <utility>
#include <variant>

namespace strongroom::replica {
namespace {

// kMaxResolveProbes bounds the reads Resolve makes to find which batch won.
constexpr std::int64_t kMaxResolveProbes = 64;

std::string AsString(ByteSpan bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

std::vector<cluster::TxnOp> ToEtcdOps(const KeyLayout& layout,
                                      const storage::ReplicatedBatch& batch) {
  std::vector<cluster::TxnOp> ops;
  ops.reserve(batch.changes.size() + 1);
  for (const storage::ReplicatedChange& change : batch.changes) {
    std::string key = change.table == storage::Table::kMeta
                          ? layout.MetaKey(change.key)
                          : layout.RecordKey(change.table, change.key);
    if (change.value) {
      ops.emplace_back(cluster::PutRequest{.key = std::move(key), .value = AsString(*change.value)});
    } else {
      ops.emplace_back(cluster::DeleteRequest{.key = std::move(key)});
    }
  }
  ops.emplace_back(
      cluster::PutRequest{.key = layout.digest_key(), .value = AsString(batch.digest_record)});
  return ops;
}

EtcdReplicator::EtcdReplicator(std::shared_ptr<cluster::EtcdClient> client, KeyLayout layout,
                               std::function<Status()> healthy)
    : client_(std::move(client)), layout_(std::move(layout)), healthy_(std::move(healthy)) {}

StatusOr<storage::ReplicatedCommit> EtcdReplicator::Commit(const storage::ReplicatedBatch& batch) {
  if (healthy_) {
    Status healthy = healthy_();
    if (!healthy.ok()) {
      return std::unexpected(
          Status::Unavailable("this node does not apply the cluster's changes: " +
                              healthy.message()));
    }
  }
  if (batch.base_revision <= 0) {
    return std::unexpected(
        Status::FailedPrecondition("the replica has not joined the cluster (no revision)"));
  }
  cluster::TxnRequest txn;
  txn.compare.push_back(cluster::Compare::ModRevisionIs(layout_.digest_key(), batch.base_revision));
  txn.success = ToEtcdOps(layout_, batch);
  if (txn.success.size() > kMaxTxnOps) {
    return std::unexpected(Status::ResourceExhausted(
        "the batch needs " + std::to_string(txn.success.size()) +
        " etcd operations, more than etcd's limit of " + std::to_string(kMaxTxnOps)));
  }
  txn.failure.push_back(cluster::RangeRequest{.key = layout_.digest_key()});
  StatusOr<cluster::TxnResult> result = client_->Txn(txn);
  if (!result.has_value()) {
    if (result.error().code() == StatusCode::kUnavailable) return Resolve(batch, result.error());
    return std::unexpected(result.error());
  }
  if (result->succeeded) return storage::ReplicatedCommit{true, result->header.revision};
  const auto* read = result->responses.empty()
                         ? nullptr
                         : std::get_if<cluster::RangeResult>(&result->responses.front());
  if (read == nullptr || read->kvs.empty()) {
    // SECURITY: the digest key was deleted behind the cluster's back; the
    // apply loop refuses that change, and nothing is written over it.
    return std::unexpected(
        Status::FailedPrecondition("the cluster's store digest record is missing in etcd"));
  }
  return storage::ReplicatedCommit{false, read->kvs.front().mod_revision};
}

StatusOr<storage::ReplicatedCommit> EtcdReplicator::Validate(std::int64_t base_revision) {
  SR_ASSIGN_OR_RETURN(cluster::RangeResult read, client_->Range({.key = layout_.digest_key()}));
  if (read.kvs.empty()) {
    return std::unexpected(
        Status::FailedPrecondition("the cluster's store digest record is missing in etcd"));
  }
  const std::int64_t now = read.kvs.front().mod_revision;
  return storage::ReplicatedCommit{now == base_revision, now};
}

StatusOr<storage::ReplicatedCommit> EtcdReplicator::Resolve(const storage::ReplicatedBatch& batch,
                                                            const Status& why) {
  StatusOr<cluster::RangeResult> read = client_->Range({.key = layout_.digest_key()});
  if (!read.has_value() || read->kvs.empty()) {
    return std::unexpected(Status::Unavailable("outcome unknown (" + why.message() +
                                               "), and the digest record could not be read"));
  }
  const cluster::KeyValue& digest = read->kvs.front();
  if (digest.value == AsString(batch.digest_record)) {
    return storage::ReplicatedCommit{true, digest.mod_revision};
  }
  if (digest.mod_revision == batch.base_revision) {
    // Not applied yet; it may still be, or never.
    return std::unexpected(Status::Unavailable("outcome unknown: " + why.message()));
  }
  // The digest moved past base_revision: exactly one batch won the compare
  // on base_revision, the first write of the key after it. Find it among the
  // revisions since (other keys' revisions, such as leases, interleave).
  for (std::int64_t r = batch.base_revision + 1;
       r <= digest.mod_revision && r <= batch.base_revision + kMaxResolveProbes; ++r) {
    StatusOr<cluster::RangeResult> then =
        client_->Range({.key = layout_.digest_key(), .revision = r});
    if (!then.has_value() || then->kvs.empty()) break;
    const cluster::KeyValue& winner = then->kvs.front();
    if (winner.mod_revision == batch.base_revision) continue;
    if (winner.value == AsString(batch.digest_record)) {
      return storage::ReplicatedCommit{true, winner.mod_revision};
    }
    // Another node's batch won: ours can no longer commit.
    return storage::ReplicatedCommit{false, digest.mod_revision};
  }
  return std::unexpected(Status::Unavailable("outcome unknown (" + why.message() +
                                             "), and the winning write could not be found"));
}

}  // namespace strongroom::replica

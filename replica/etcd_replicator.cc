#include "replica/etcd_replicator.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>

namespace strongroom::replica {
namespace {

using Clock = std::chrono::steady_clock;

// kFencePause is the pause between two tries of a fence whose answer was
// lost (bounded by the batch deadline).
constexpr std::chrono::milliseconds kFencePause{50};

std::string AsString(ByteSpan bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// TxnBytes is what a transaction's keys and values weigh.
std::size_t TxnBytes(const std::vector<cluster::TxnOp>& ops) {
  std::size_t bytes = 0;
  for (const cluster::TxnOp& op : ops) {
    if (const auto* put = std::get_if<cluster::PutRequest>(&op)) {
      bytes += put->key.size() + put->value.size();
    } else if (const auto* del = std::get_if<cluster::DeleteRequest>(&op)) {
      bytes += del->key.size();
    }
  }
  return bytes;
}

// Read returns the key-value the `index`th response of a transaction read,
// or nullptr (no such response, or the key is missing).
const cluster::KeyValue* Read(const cluster::TxnResult& result, std::size_t index) {
  if (result.responses.size() <= index) return nullptr;
  const auto* range = std::get_if<cluster::RangeResult>(&result.responses[index]);
  return range == nullptr || range->kvs.empty() ? nullptr : &range->kvs.front();
}

// Resolvable is true for the errors after which a sent transaction may
// have been applied: the client's kOutcomeUnknown (sent and no answer, or
// an answer saying etcd may have applied it) or an answer that could not be
// read (kInternal). kUnavailable from the client's Txn means the request
// never left this process (cluster/etcd_client.h): not applied, no fence.
// Other errors are etcd refusing the request.
bool Resolvable(const Status& error) {
  return error.code() == StatusCode::kOutcomeUnknown || error.code() == StatusCode::kInternal;
}

}  // namespace

std::vector<cluster::TxnOp> ToEtcdOps(const KeyLayout& layout,
                                      const storage::ReplicatedBatch& batch) {
  std::vector<cluster::TxnOp> ops;
  ops.reserve(batch.changes.size() + 2);
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
                               std::function<Status()> healthy, EtcdReplicatorOptions options)
    : client_(std::move(client)),
      layout_(std::move(layout)),
      healthy_(std::move(healthy)),
      options_(std::move(options)),
      attempt_key_(layout_.AttemptKey(options_.node_name)),
      name_key_(layout_.NameKey(options_.node_name)),
      instance_([] {
        std::random_device random;
        return std::to_string(random()) + "-" + std::to_string(random());
      }()) {}

std::string EtcdReplicator::NextNonce() { return instance_ + "/" + std::to_string(++attempts_); }

StatusOr<cluster::TxnResult> EtcdReplicator::Send(const cluster::TxnRequest& txn,
                                                  std::string_view what) {
  const TxnFault fault = options_.fault ? options_.fault(what) : TxnFault::kNone;
  if (fault == TxnFault::kLoseRequest) {
    // Lost on the way: as the client reports a request sent and unanswered.
    return std::unexpected(Status::OutcomeUnknown("(injected) the " + std::string(what) +
                                                  " request was sent: its outcome is unknown"));
  }
  StatusOr<cluster::TxnResult> result = client_->Txn(txn);
  if (fault == TxnFault::kLoseAnswer) {
    return std::unexpected(Status::OutcomeUnknown("(injected) the " + std::string(what) +
                                                  " answer was lost: its outcome is unknown"));
  }
  return result;
}

StatusOr<storage::ReplicatedCommit> EtcdReplicator::Commit(const storage::ReplicatedBatch& batch) {
  if (healthy_) {
    Status healthy = healthy_();
    if (!healthy.ok()) {
      return std::unexpected(
          Status::Unavailable("this node does not follow the cluster's changes: " +
                              healthy.message()));
    }
  }
  if (batch.base_revision <= 0) {
    return std::unexpected(
        Status::FailedPrecondition("the replica has not joined the cluster (no revision)"));
  }
  std::int64_t name_lease = 0;
  if (options_.name_lease) {
    name_lease = options_.name_lease();
    if (name_lease == 0) {
      return std::unexpected(Status::Unavailable("this process does not hold its node name \"" +
                                                 options_.node_name + "\" in etcd"));
    }
  }
  const std::string nonce = NextNonce();
  cluster::TxnRequest txn;
  txn.success = ToEtcdOps(layout_, batch);
  txn.success.emplace_back(cluster::PutRequest{.key = attempt_key_, .value = nonce});
  if (txn.success.size() > kMaxTxnOps || TxnBytes(txn.success) > kMaxTxnBytes) {
    return storage::ReplicatedCommit{.committed = false, .revision = batch.base_revision,
                                     .too_large = true};
  }
  if (!attempt_revision_) {
    // Nothing sent yet: an error here means not committed.
    SR_ASSIGN_OR_RETURN(cluster::RangeResult attempt, client_->Range({.key = attempt_key_}));
    attempt_revision_ = attempt.kvs.empty() ? 0 : attempt.kvs.front().mod_revision;
  }
  txn.compare.push_back(cluster::Compare::ModRevisionIs(layout_.digest_key(), batch.base_revision));
  txn.compare.push_back(cluster::Compare::ModRevisionIs(attempt_key_, *attempt_revision_));
  if (name_lease != 0) txn.compare.push_back(cluster::Compare::LeaseIs(name_key_, name_lease));
  txn.failure.push_back(cluster::RangeRequest{.key = layout_.digest_key()});
  txn.failure.push_back(cluster::RangeRequest{.key = attempt_key_});
  txn.failure.push_back(cluster::RangeRequest{.key = name_key_});
  StatusOr<cluster::TxnResult> result = Send(txn, "commit");
  if (!result.has_value()) {
    if (Resolvable(result.error())) return Resolve(batch, nonce, result.error());
    // Never sent (kUnavailable) or refused by etcd: not applied.
    return std::unexpected(result.error());
  }
  if (result->succeeded) {
    attempt_revision_ = result->header.revision;
    return storage::ReplicatedCommit{true, result->header.revision};
  }
  const cluster::KeyValue* attempt = Read(*result, 1);
  attempt_revision_ = attempt == nullptr ? 0 : attempt->mod_revision;
  const cluster::KeyValue* name = Read(*result, 2);
  if (name_lease != 0 && (name == nullptr || name->lease != name_lease)) {
    // SECURITY: this process's claim on its node name lapsed; the
    // transaction failed, so nothing was applied. The control loop claims
    // the name again or keeps writes refused (Replica::KeepName).
    return std::unexpected(Status::Unavailable("this process's claim on its node name \"" +
                                               options_.node_name + "\" lapsed in etcd"));
  }
  const cluster::KeyValue* digest = Read(*result, 0);
  if (digest == nullptr) {
    // SECURITY: the digest key was deleted behind the cluster's back; the
    // apply loop refuses that change, and nothing is written over it.
    return std::unexpected(
        Status::FailedPrecondition("the cluster's store digest record is missing in etcd"));
  }
  // A conflict; when only the attempt key had moved (digest still at
  // base_revision), the batch is staged again at once.
  return storage::ReplicatedCommit{false, digest->mod_revision};
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
                                                            const std::string& nonce,
                                                            const Status& why) {
  const Clock::time_point deadline = batch.deadline == Clock::time_point{}
                                         ? Clock::now() + options_.write_timeout
                                         : batch.deadline;
  const std::int64_t compared = *attempt_revision_;
  // Until resolved, the next attempt re-reads the attempt key.
  attempt_revision_.reset();
  const std::string fence_nonce = NextNonce();
  cluster::TxnRequest fence;
  fence.compare.push_back(cluster::Compare::ModRevisionIs(attempt_key_, compared));
  fence.success.emplace_back(cluster::PutRequest{.key = attempt_key_, .value = fence_nonce});
  fence.failure.emplace_back(cluster::RangeRequest{.key = attempt_key_});
  Status last = why;
  for (;;) {
    fences_.fetch_add(1);
    StatusOr<cluster::TxnResult> result = Send(fence, "fence");
    if (result.has_value() && result->succeeded) {
      attempt_revision_ = result->header.revision;
      return std::unexpected(Status::Unavailable(
          "etcd's answer was lost (" + why.message() + ") and a fence made sure it never commits"));
    }
    if (result.has_value()) {
      const cluster::KeyValue* attempt = Read(*result, 0);
      if (attempt != nullptr && attempt->value == nonce) {
        attempt_revision_ = attempt->mod_revision;
        return storage::ReplicatedCommit{true, attempt->mod_revision};
      }
      if (attempt != nullptr && attempt->value == fence_nonce) {
        // An earlier try of this fence applied; its answer was lost.
        attempt_revision_ = attempt->mod_revision;
        return std::unexpected(Status::Unavailable(
            "etcd's answer was lost (" + why.message() + ") and a fence made sure it never "
            "commits"));
      }
      // SECURITY: only this node writes its attempt key; someone else did.
      return std::unexpected(Status::OutcomeUnknown(
          "the write's outcome is unknown: etcd's answer was lost and this node's attempt key "
          "was changed by another writer (is the node name shared?)"));
    }
    last = result.error();
    // A fence that never left (kUnavailable) is tried again too.
    const bool again = Resolvable(last) || last.code() == StatusCode::kUnavailable;
    if (!again || Clock::now() + kFencePause >= deadline) break;
    std::this_thread::sleep_for(kFencePause);
  }
  return std::unexpected(Status::OutcomeUnknown(
      "the write's outcome is unknown: etcd's answer was lost (" + why.message() +
      ") and it could not be resolved in time (" + last.message() + ")"));
}

}  // namespace strongroom::replica

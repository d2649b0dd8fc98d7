#include "cluster/leader_lease.h"

#include <variant>

namespace strongroom::cluster {

LeaderLease::LeaderLease(EtcdClient& client, LeaderLeaseOptions options)
    : client_(client), options_(std::move(options)) {}

StatusOr<bool> LeaderLease::TryAcquire() {
  // Twice at most: etcd refuses a put under a lease it no longer knows (it
  // expired while this node was away), and the second try grants a new one.
  for (int attempt = 0;; ++attempt) {
    // A node that waits for the lock keeps its lease fresh, so the lock it
    // takes does not lapse a moment later with a lease granted long ago.
    if (lease_id_ != 0 && !held()) {
      StatusOr<Lease> renewed = client_.LeaseKeepAlive(lease_id_);
      if (!renewed.has_value()) {
        if (renewed.error().code() != StatusCode::kNotFound) return std::unexpected(renewed.error());
        lease_id_ = 0;
      }
    }
    if (lease_id_ == 0) {
      SR_ASSIGN_OR_RETURN(Lease lease, client_.LeaseGrant(options_.ttl_seconds));
      lease_id_ = lease.id;
    }
    // Create the key under our lease if it is missing; either way read it
    // back in the same transaction, so one round trip says who holds it.
    TxnRequest txn{
        .compare = {Compare::KeyMissing(options_.key)},
        .success = {PutRequest{.key = options_.key, .value = options_.holder, .lease = lease_id_},
                    RangeRequest{.key = options_.key}},
        .failure = {RangeRequest{.key = options_.key}},
    };
    StatusOr<TxnResult> result = client_.Txn(txn);
    if (!result.has_value()) {
      fencing_revision_.reset();
      if (result.error().code() == StatusCode::kNotFound) {
        lease_id_ = 0;
        if (attempt == 0) continue;
      }
      return std::unexpected(result.error());
    }
    const auto* range =
        result->responses.empty() ? nullptr : std::get_if<RangeResult>(&result->responses.back());
    if (range == nullptr || range->kvs.empty()) {
      // Both branches read the key after making sure it exists.
      fencing_revision_.reset();
      return std::unexpected(Status::Internal("etcd's lock transaction did not return the key"));
    }
    const KeyValue& kv = range->kvs.front();
    if (kv.lease == lease_id_ && kv.value == options_.holder) {
      fencing_revision_ = kv.create_revision;
      return true;
    }
    fencing_revision_.reset();
    return false;
  }
}

Status LeaderLease::KeepAlive() {
  if (lease_id_ == 0) {
    fencing_revision_.reset();
    return Status::NotFound("no lease to renew");
  }
  StatusOr<Lease> renewed = client_.LeaseKeepAlive(lease_id_);
  if (!renewed.has_value()) {
    if (renewed.error().code() == StatusCode::kNotFound) {
      lease_id_ = 0;
      fencing_revision_.reset();
    }
    return renewed.error();
  }
  return Status::Ok();
}

Status LeaderLease::Release() {
  if (lease_id_ == 0) return Status::Ok();
  TxnRequest txn{.compare = {Compare::LeaseIs(options_.key, lease_id_)},
                 .success = {DeleteRequest{.key = options_.key}},
                 .failure = {}};
  SR_RETURN_IF_ERROR(client_.Txn(txn));
  fencing_revision_.reset();
  Status revoked = client_.LeaseRevoke(lease_id_);
  lease_id_ = 0;
  if (!revoked.ok() && revoked.code() != StatusCode::kNotFound) return revoked;
  return Status::Ok();
}

StatusOr<std::string> LeaderLease::CurrentHolder() {
  SR_ASSIGN_OR_RETURN(RangeResult range, client_.Range(RangeRequest{.key = options_.key}));
  if (range.kvs.empty()) return std::string();
  return range.kvs.front().value;
}

}  // namespace strongroom::cluster

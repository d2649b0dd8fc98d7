// cluster/leader_lease.h — "one node does the background work": a lock in
// etcd held under a lease. The holder writes `key` = its name, attached to
// its lease, only if the key does not exist (a transaction); it stays the
// holder while it renews the lease. When the holder stops renewing (it died
// or lost etcd), etcd deletes the key as the lease expires and another node's
// next TryAcquire takes it.
//
// SECURITY (fencing): a holder learns that it lost the lock only at its next
// renewal, so work it does under the lock must itself be conditional. Every
// write of background work compares the lock key's create revision
// (fencing_revision()) in the same transaction: a deposed holder's write then
// fails in etcd instead of racing its successor.
//
// Thread-safety: a LeaderLease is used by one thread at a time (the node's
// background-work loop); the EtcdClient it borrows may be shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "cluster/etcd_client.h"

namespace strongroom::cluster {

struct LeaderLeaseOptions {
  // key is the lock's key in etcd, e.g. "/strongroom/leader/background".
  std::string key;
  // holder names this node (the [cluster] node name); stored as the value.
  std::string holder;
  // ttl_seconds is the lease's time to live: how long the lock outlives a
  // holder that stopped renewing. etcd raises values below its minimum
  // (about 2 s with default timings). Default 5.
  std::int64_t ttl_seconds = 5;
};

class LeaderLease {
 public:
  // LeaderLease borrows `client`, which must outlive it.
  LeaderLease(EtcdClient& client, LeaderLeaseOptions options);
  // ~LeaderLease does not release the lock (a crash does not either); call
  // Release() on orderly shutdown so another node takes over at once.
  ~LeaderLease() = default;
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  // TryAcquire returns true when this node holds the lock (taken now or held
  // already), false when another holder has it. It grants a lease first if
  // this node has none (or its lease expired). Errors: as EtcdClient.
  StatusOr<bool> TryAcquire();
  // KeepAlive renews the lease. kNotFound when it expired: the lock is lost
  // (and may be someone else's by now); held() is false then.
  Status KeepAlive();
  // Release deletes the key if this node still holds it and revokes the lease.
  Status Release();

  // held is what this node last learned: true after a TryAcquire that
  // returned true, until KeepAlive or Release says otherwise.
  bool held() const { return fencing_revision_.has_value(); }
  // fencing_revision is the create revision of the lock key this node holds
  // (see SECURITY above); empty when not held.
  std::optional<std::int64_t> fencing_revision() const { return fencing_revision_; }
  // lease_id is the etcd lease this node's key is attached to (0: none). A
  // write that must only commit while the lock is held can compare
  // Compare::LeaseIs(key, lease_id()) in its own transaction.
  std::int64_t lease_id() const { return held() ? lease_id_ : 0; }
  // CurrentHolder reads the key: the holder's name, or "" when nobody holds it.
  StatusOr<std::string> CurrentHolder();

 private:
  EtcdClient& client_;
  LeaderLeaseOptions options_;
  std::int64_t lease_id_ = 0;  // 0: no live lease
  std::optional<std::int64_t> fencing_revision_;
};

}  // namespace strongroom::cluster

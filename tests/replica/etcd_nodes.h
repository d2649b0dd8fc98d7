// tests/replica/etcd_nodes.h — the set-up the replica tests share: one real
// 3-member etcd cluster (tests/support/etcd_cluster.h), nodes started on it
// (replica_nodes.h's Node: a Store in a temp directory with its Replica),
// and what an audit log would see of a node's store (StoreAudit, attached
// through the store's pre-commit and outcome hooks).
// Thread-safety: one test thread drives an EtcdNodes; a StoreAudit's hooks
// run on its store's writer thread and its readers may run on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "replica/replica.h"
#include "tests/replica/replica_nodes.h"
#include "tests/support/etcd_cluster.h"

namespace strongroom::replica::test_nodes {

// StoreAudit is what an audit log sees of one store: every attempt's staged
// writes (its intents, through the pre-commit hook) and the attempt's
// outcome, exactly once, in order.
class StoreAudit {
 public:
  // AttachTo sets `store`'s pre-commit and commit outcome hooks to record
  // here. REQUIRES: this outlives the store's writes (EtcdNodes::AttachAudit
  // keeps it until the nodes are gone).
  void AttachTo(Store& store);

  // PreCommits is how many attempts staged writes.
  int PreCommits();
  // Codes is every outcome's code, in order.
  std::vector<StatusCode> Codes();
  // NotCommitted is how many outcomes were not kOk.
  int NotCommitted();
  // CommittedVersions is the resourceVersion of every write staged by an
  // attempt whose outcome was kOk, in commit order.
  std::vector<std::uint64_t> CommittedVersions();

 private:
  std::mutex mu_;
  int pre_commits_ = 0;                   // guarded by mu_
  std::vector<std::uint64_t> pending_;    // guarded by mu_: the attempt in flight
  std::vector<std::uint64_t> committed_;  // guarded by mu_
  std::vector<Status> outcomes_;          // guarded by mu_
};

// EtcdNodes is one test's etcd cluster and the nodes (and audits) started
// on it. Destruction stops the nodes first, then forgets the audits, then
// kills etcd.
class EtcdNodes {
 public:
  EtcdNodes() = default;
  EtcdNodes(const EtcdNodes&) = delete;
  EtcdNodes& operator=(const EtcdNodes&) = delete;
  ~EtcdNodes();

  // Start starts the etcd cluster, then `nodes` nodes on it one after the
  // other (the first seeds the store, the others do a full read). Returns
  // false, with a test failure recorded, when any of them did not start.
  bool Start(int nodes = 0);
  // AddNode starts one more node (StartNode: `tweak` may change its
  // options). Returns nullptr, with a test failure recorded, when it did not
  // start. The node is owned here. REQUIRES: Start succeeded.
  Node* AddNode(const std::function<void(ReplicaOptions&)>& tweak = nullptr);
  // node is the i-th node started (0 first). REQUIRES: i < nodes started.
  Node* node(int i) { return nodes_[i].get(); }
  // etcd is the cluster. REQUIRES: Start succeeded.
  EtcdCluster& etcd() { return *etcd_; }

  // AttachAudit attaches a new StoreAudit to `node`'s store (as it is now)
  // and returns it; it lives as long as this object.
  StoreAudit& AttachAudit(Node& node);

 private:
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<std::unique_ptr<StoreAudit>> audits_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace strongroom::replica::test_nodes

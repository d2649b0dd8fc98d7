#include "tests/replica/etcd_nodes.h"

#include <gtest/gtest.h>

#include <span>
#include <utility>

namespace strongroom::replica::test_nodes {

void StoreAudit::AttachTo(Store& store) {
  store.SetPreCommitHook([this](std::span<const storage::StagedWrite> staged) {
    std::lock_guard lock(mu_);
    ++pre_commits_;
    pending_.clear();
    for (const storage::StagedWrite& write : staged) pending_.push_back(write.resource_version);
    return Status::Ok();
  });
  store.SetCommitOutcomeHook([this](const Status& committed) {
    std::lock_guard lock(mu_);
    outcomes_.push_back(committed);
    if (committed.ok()) committed_.insert(committed_.end(), pending_.begin(), pending_.end());
    pending_.clear();
  });
}

int StoreAudit::PreCommits() {
  std::lock_guard lock(mu_);
  return pre_commits_;
}

std::vector<StatusCode> StoreAudit::Codes() {
  std::lock_guard lock(mu_);
  std::vector<StatusCode> codes;
  for (const Status& outcome : outcomes_) codes.push_back(outcome.code());
  return codes;
}

int StoreAudit::NotCommitted() {
  int not_committed = 0;
  for (StatusCode code : Codes()) not_committed += code != StatusCode::kOk;
  return not_committed;
}

std::vector<std::uint64_t> StoreAudit::CommittedVersions() {
  std::lock_guard lock(mu_);
  return committed_;
}

EtcdNodes::~EtcdNodes() {
  // The nodes' replicas and stores stop before the audits their hooks
  // write to, and both before etcd.
  nodes_.clear();
  audits_.clear();
  etcd_.reset();
}

bool EtcdNodes::Start(int nodes) {
  etcd_ = EtcdCluster::Start();
  if (etcd_ == nullptr) return false;  // EtcdCluster::Start recorded why
  for (int i = 0; i < nodes; ++i) {
    if (AddNode() == nullptr) return false;
  }
  return true;
}

Node* EtcdNodes::AddNode(const std::function<void(ReplicaOptions&)>& tweak) {
  std::unique_ptr<Node> node = StartNode(*etcd_, tweak);
  if (node == nullptr) {
    ADD_FAILURE() << "node " << nodes_.size() << " did not start";
    return nullptr;
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

StoreAudit& EtcdNodes::AttachAudit(Node& node) {
  audits_.push_back(std::make_unique<StoreAudit>());
  audits_.back()->AttachTo(*node.store);
  return *audits_.back();
}

}  // namespace strongroom::replica::test_nodes

// "Never sent" against "sent, no answer" (docs/cluster-design.md, "Write
// path and outcomes"): a write the client never got out of the process is
// plainly not committed, with no fence; a lost request or answer is still
// resolved by a fence. Real etcd (members killed for "never sent"); the lost
// answer is the one mocked fault (TxnFaultHook).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "replica/etcd_replicator.h"
#include "replica/key_layout.h"
#include "replica/replica.h"
#include "tests/replica/replica_nodes.h"

namespace strongroom::replica {
namespace {

using namespace strongroom::replica::test_nodes;  // NOLINT: the suite's own helpers

constexpr const char* kLoneCluster = "lone";

// LoneReplicator is an EtcdReplicator on its own prefix with no node around
// it (always healthy, no name claim), so its Commit always reaches Send.
struct LoneReplicator {
  std::shared_ptr<cluster::EtcdClient> client;
  std::unique_ptr<EtcdReplicator> replicator;
  std::int64_t digest_revision = 0;  // the digest key's mod revision
};

LoneReplicator MakeLone(EtcdCluster& etcd, TxnFaultHook fault = nullptr) {
  LoneReplicator lone;
  auto client = cluster::EtcdClient::Create(etcd.ClientOptions());
  EXPECT_OK(client);
  if (!client.has_value()) return lone;
  lone.client = std::move(*client);
  const KeyLayout layout(kLoneCluster);
  auto put = lone.client->Put({.key = layout.digest_key(), .value = "digest-0"});
  EXPECT_OK(put);
  if (put.has_value()) lone.digest_revision = put->header.revision;
  lone.replicator = std::make_unique<EtcdReplicator>(
      lone.client, layout, nullptr,
      EtcdReplicatorOptions{.node_name = "lone-node", .fault = std::move(fault)});
  return lone;
}

Bytes BytesOf(const std::string& text) { return Bytes(text.begin(), text.end()); }

// OneWrite is a batch of one record put, staged on `base_revision`.
storage::ReplicatedBatch OneWrite(const std::string& key, std::int64_t base_revision) {
  storage::ReplicatedBatch batch;
  batch.changes.push_back({Table::kSecureValues, key, BytesOf("value")});
  batch.digest_record = BytesOf("digest-1");
  batch.base_revision = base_revision;
  return batch;
}

bool InLoneEtcd(cluster::EtcdClient& client, const std::string& key) {
  auto range = client.Range({.key = KeyLayout(kLoneCluster).RecordKey(Table::kSecureValues, key)});
  EXPECT_OK(range);
  return range.has_value() && !range->kvs.empty();
}

TEST(NeverSent, AWriteNoMemberCouldBeReachedForIsNotCommittedAndSendsNoFence) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  LoneReplicator lone = MakeLone(*etcd);
  ASSERT_NE(lone.replicator, nullptr);
  // A first commit learns the attempt key (and commits), so the next one
  // goes straight to its transaction.
  auto first = lone.replicator->Commit(OneWrite("ns/first", lone.digest_revision));
  ASSERT_OK(first);
  ASSERT_TRUE(first->committed);

  for (int i = 0; i < etcd->size(); ++i) ASSERT_TRUE(etcd->Kill(i));
  auto second = lone.replicator->Commit(OneWrite("ns/second", first->revision));
  ASSERT_FALSE(second.has_value());
  // Every connection was refused: nothing reached etcd, so "not committed"
  // (503) at once, never kOutcomeUnknown, and no fence.
  EXPECT_STATUS(second, StatusCode::kUnavailable);
  EXPECT_EQ(lone.replicator->fences(), 0u);
}

TEST(NeverSent, ALostAnswerIsStillResolvedByAFence) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  LoneReplicator lone = MakeLone(*etcd, [](std::string_view what) {
    return what == "commit" ? TxnFault::kLoseAnswer : TxnFault::kNone;
  });
  ASSERT_NE(lone.replicator, nullptr);
  auto committed = lone.replicator->Commit(OneWrite("ns/lost-answer", lone.digest_revision));
  ASSERT_OK(committed);
  EXPECT_TRUE(committed->committed);
  EXPECT_EQ(lone.replicator->fences(), 1u);
  EXPECT_TRUE(InLoneEtcd(*lone.client, "ns/lost-answer"));
}

TEST(NeverSent, ALostRequestIsFencedAndNotCommitted) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  LoneReplicator lone = MakeLone(*etcd, [](std::string_view what) {
    return what == "commit" ? TxnFault::kLoseRequest : TxnFault::kNone;
  });
  ASSERT_NE(lone.replicator, nullptr);
  auto lost = lone.replicator->Commit(OneWrite("ns/lost-request", lone.digest_revision));
  EXPECT_STATUS(lost, StatusCode::kUnavailable);
  EXPECT_EQ(lone.replicator->fences(), 1u);
  EXPECT_FALSE(InLoneEtcd(*lone.client, "ns/lost-request"));
}

TEST(NeverSent, ACreateWithEveryMemberStoppedIsUnavailableWithoutAFence) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto node = StartNode(*etcd);
  ASSERT_NE(node, nullptr);
  ASSERT_OK(Create(*node->store, "ns/before", "1"));
  for (int i = 0; i < etcd->size(); ++i) ASSERT_TRUE(etcd->Kill(i));

  const Clock::time_point start = Clock::now();
  auto created = Create(*node->store, "ns/unwritten", "x");
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::cout << "create with every etcd member stopped answered in " << took << " ms\n";
  // Either the node saw its watch break (it sends nothing) or its
  // transaction could not be sent: plainly not committed (503), no fence.
  EXPECT_STATUS(created, StatusCode::kUnavailable);
  EXPECT_EQ(node->replica->fences(), 0u);
  EXPECT_EQ(Read(*node->store, "ns/unwritten"), std::nullopt);
  EXPECT_EQ(Read(*node->store, "ns/before"), "1");  // reads go on
  EXPECT_LT(took, 10000);                           // not a hang
}

}  // namespace
}  // namespace strongroom::replica

// One running process per node name (docs/cluster-design.md, "Node
// names"): Replica::Start claims P names/<node> under a lease it keeps
// alive, a second process with the name is refused naming it, a stopped
// node gives its name back at once, a killed one once its lease lapses, and
// a process whose claim was taken over commits nothing. Real etcd and LMDB.
#include <gtest/gtest.h>

#include <string>

#include "replica/key_layout.h"
#include "replica/replica.h"
#include "tests/replica/replica_nodes.h"

namespace strongroom::replica {
namespace {

using namespace strongroom::replica::test_nodes;  // NOLINT: the suite's own helpers

// Named starts a node called `name`, waiting at most `wait` for the name.
std::function<void(ReplicaOptions&)> Named(
    const std::string& name, std::chrono::milliseconds wait = std::chrono::milliseconds(10000)) {
  return [name, wait](ReplicaOptions& options) {
    options.node_name = name;
    options.name_claim_wait = wait;
  };
}

// NameLease returns the lease the node name's key in etcd is attached to
// (0 when the key is missing).
std::int64_t NameLease(cluster::EtcdClient& client, const std::string& name) {
  auto range = client.Range({.key = KeyLayout(kClusterName).NameKey(name)});
  EXPECT_OK(range);
  if (!range.has_value() || range->kvs.empty()) return 0;
  return range->kvs.front().lease;
}

TEST(NodeName, ASecondProcessWithTheSameNameRefusesToStartAndSaysWhichName) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto first = StartNode(*etcd, Named("node-a"));
  ASSERT_NE(first, nullptr);
  ASSERT_OK(Put(*first->store, "ns/before", "1"));

  Node second;
  second.OpenStore();
  ASSERT_NE(second.store, nullptr);
  Status refused = second.StartReplica(*etcd, Named("node-a", std::chrono::milliseconds(500)));
  EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists) << refused;
  EXPECT_NE(refused.message().find("\"node-a\""), std::string::npos) << refused;
  EXPECT_EQ(second.replica, nullptr);
  // The refused process joined nothing and writes nothing.
  EXPECT_STATUS(Put(*second.store, "ns/second", "x"), StatusCode::kUnavailable);
  EXPECT_EQ(second.store->replica_revision(), 0);
  // The first keeps its name and writes on.
  ASSERT_OK(Put(*first->store, "ns/after", "2"));
  EXPECT_OK(first->replica->health());
  // Another name is welcome.
  auto other = StartNode(*etcd, Named("node-b"));
  ASSERT_NE(other, nullptr);
  ASSERT_OK(Put(*other->store, "ns/from-b", "3"));
}

TEST(NodeName, AStoppedNodeGivesItsNameBackAtOnce) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto first = StartNode(*etcd, Named("node-a"));
  ASSERT_NE(first, nullptr);
  ASSERT_OK(Put(*first->store, "ns/one", "1"));
  first->replica->Stop();

  // No wait at all: one claim attempt, which finds the name free.
  auto again = StartNode(*etcd, Named("node-a", std::chrono::milliseconds(0)));
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return Read(*again->store, "ns/one") == "1"; }));
  ASSERT_OK(Put(*again->store, "ns/two", "2"));
}

TEST(NodeName, AKilledProcessesNameIsTakenBackOnceItsLeaseLapses) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto seed = StartNode(*etcd, Named("node-seed"));
  ASSERT_NE(seed, nullptr);
  // A process killed with SIGKILL leaves its claim behind, under a lease
  // nobody renews any more.
  auto client = Client(*etcd);
  ASSERT_NE(client, nullptr);
  auto dead_lease = client->LeaseGrant(2);
  ASSERT_OK(dead_lease);
  ASSERT_OK(client->Put({.key = KeyLayout(kClusterName).NameKey("node-a"),
                         .value = "node-a",
                         .lease = dead_lease->id}));
  ASSERT_EQ(NameLease(*client, "node-a"), dead_lease->id);

  auto restarted = StartNode(*etcd, Named("node-a"));
  ASSERT_NE(restarted, nullptr);
  const std::int64_t claimed = NameLease(*client, "node-a");
  EXPECT_NE(claimed, 0);
  EXPECT_NE(claimed, dead_lease->id);
  ASSERT_OK(Put(*restarted->store, "ns/after-restart", "x"));
  ASSERT_TRUE(WaitUntil([&] { return Read(*seed->store, "ns/after-restart") == "x"; }));
  // The control loop keeps the claim alive past its lease's time to live.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(NameLease(*client, "node-a"), claimed);
  ASSERT_OK(Put(*restarted->store, "ns/later", "y"));
}

TEST(NodeName, AProcessWhoseClaimWasTakenOverCommitsNothing) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto node = StartNode(*etcd, Named("node-a"));
  ASSERT_NE(node, nullptr);
  ASSERT_OK(Put(*node->store, "ns/before", "1"));
  // Another holder's put moves the name key to its own lease (as a second
  // process would after this one's claim lapsed).
  auto client = Client(*etcd);
  ASSERT_NE(client, nullptr);
  auto other_lease = client->LeaseGrant(30);
  ASSERT_OK(other_lease);
  ASSERT_OK(client->Put({.key = KeyLayout(kClusterName).NameKey("node-a"),
                         .value = "node-a",
                         .lease = other_lease->id}));

  auto written = Put(*node->store, "ns/after-takeover", "x");
  ASSERT_FALSE(written.has_value());
  EXPECT_STATUS(written, StatusCode::kUnavailable);
  EXPECT_NE(written.error().message().find("\"node-a\""), std::string::npos) << written.error();
  auto range = client->Range(
      {.key = KeyLayout(kClusterName).RecordKey(Table::kSecureValues, "ns/after-takeover")});
  ASSERT_OK(range);
  EXPECT_TRUE(range->kvs.empty());
  EXPECT_EQ(Read(*node->store, "ns/after-takeover"), std::nullopt);
  EXPECT_EQ(node->replica->fences(), 0u);
}

}  // namespace
}  // namespace strongroom::replica

// tests/replica/replica_nodes.h — what the replica tests share: a node (a
// Store in a temp directory with its Replica) on a real etcd cluster
// (tests/support/etcd_cluster.h), and reads that compare nodes.
// Thread-safety: one test thread drives its nodes.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "replica/replica.h"
#include "tests/storage/storage_test_util.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::replica::test_nodes {

using storage::Store;
using storage::Table;
using storage::WriteTxn;
using testing_support::EtcdCluster;
using testing_support::TempDir;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kClusterName = "test";

// WaitUntil polls `done` until it holds or `limit` passes (a bound for a
// broken build, not a timing assertion).
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::seconds limit = std::chrono::seconds(30)) {
  const Clock::time_point give_up = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Node is one appliance's store and replica.
struct Node {
  TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Replica> replica;

  // OpenStore opens (or reopens) the store, with the tag index armed as the
  // server arms it.
  void OpenStore() {
    storage::StoreOptions options = storage::testing::TestOptions(dir);
    options.tag_index = true;
    store = storage::testing::OpenTestStore(options);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->VerifyIntegrity());
  }
  // StartReplica starts the replica; `tweak` may change the options.
  Status StartReplica(EtcdCluster& etcd,
                      const std::function<void(ReplicaOptions&)>& tweak = nullptr) {
    ReplicaOptions options;
    options.cluster_name = kClusterName;
    options.etcd = etcd.ClientOptions();
    options.fresh_check_interval = std::chrono::milliseconds(200);
    options.full_read_page = 3;  // several pages even for small stores
    if (tweak) tweak(options);
    StatusOr<std::unique_ptr<Replica>> started = Replica::Start(*store, std::move(options));
    if (!started.has_value()) return started.error();
    replica = std::move(*started);
    return Status::Ok();
  }
};

inline std::unique_ptr<Node> StartNode(
    EtcdCluster& etcd, const std::function<void(ReplicaOptions&)>& tweak = nullptr) {
  auto node = std::make_unique<Node>();
  node->OpenStore();
  if (node->store == nullptr) return nullptr;
  Status started = node->StartReplica(etcd, tweak);
  EXPECT_OK(started);
  if (!started.ok()) return nullptr;
  return node;
}

inline StatusOr<storage::WriteReceipt> Put(Store& store, const std::string& key,
                                           const std::string& value) {
  return storage::testing::PutValue(store, Table::kSecureValues, key, value);
}

// Create fails with kAlreadyExists when the key exists, as the API's
// creates do.
inline StatusOr<storage::WriteReceipt> Create(Store& store, const std::string& key,
                                              const std::string& value) {
  return store.Write("create " + key, [&](WriteTxn& txn) -> Status {
    StatusOr<storage::Record> existing = txn.Get(Table::kSecureValues, key);
    if (existing.has_value()) return Status::AlreadyExists(key + " exists");
    if (existing.error().code() != StatusCode::kNotFound) return existing.error();
    SR_RETURN_IF_ERROR(txn.Put(Table::kSecureValues, key, AsBytes(value)));
    return Status::Ok();
  });
}

inline std::optional<std::string> Read(Store& store, const std::string& key) {
  StatusOr<storage::ReadTxn> txn = store.BeginRead();
  if (!txn.has_value()) return std::nullopt;
  StatusOr<storage::Record> record = txn->Get(Table::kSecureValues, key);
  if (!record.has_value()) return std::nullopt;
  return storage::testing::ValueOf(*record);
}

// Dump is every record of every authenticated table with its generation,
// and the snapshot's resourceVersion.
inline std::map<std::string, std::string> Dump(Store& store) {
  std::map<std::string, std::string> out;
  StatusOr<storage::ReadTxn> txn = store.BeginRead();
  EXPECT_OK(txn);
  if (!txn.has_value()) return out;
  out["resourceVersion"] = std::to_string(txn->resource_version());
  for (int i = 1; i < storage::kTableCount; ++i) {
    auto table = static_cast<Table>(i);
    EXPECT_OK(txn->Scan(table, "", "", [&](std::string_view key, const storage::Record& record) {
      out[std::string(storage::TableName(table)) + "/" + std::string(key)] =
          storage::testing::ValueOf(record) + "@" + std::to_string(record.generation);
      return true;
    }));
  }
  return out;
}

inline bool CaughtUp(const std::vector<Node*>& nodes, std::int64_t revision) {
  for (Node* node : nodes) {
    if (node->store->replica_revision() < revision) return false;
  }
  return true;
}

inline std::unique_ptr<cluster::EtcdClient> Client(EtcdCluster& etcd) {
  auto client = cluster::EtcdClient::Create(etcd.ClientOptions());
  EXPECT_OK(client);
  return client.has_value() ? std::move(*client) : nullptr;
}

// InEtcd returns the value etcd holds under `key` as it is stored (empty,
// with a test failure, when it holds none).
inline std::string InEtcd(cluster::EtcdClient& client, const std::string& key) {
  auto range = client.Range({.key = key});
  EXPECT_OK(range);
  if (!range.has_value() || range->kvs.size() != 1) {
    ADD_FAILURE() << "etcd holds " << (range.has_value() ? range->kvs.size() : 0)
                  << " values under " << key;
    return "";
  }
  return range->kvs[0].value;
}

// ExpectSameStoreAs checks that `node` caught up holds exactly what `source`
// holds ("ns/doomed", deleted on `source`, included) and verifies.
inline void ExpectSameStoreAs(Node& node, Node& source) {
  EXPECT_EQ(Dump(*node.store), Dump(*source.store));
  EXPECT_EQ(Read(*node.store, "ns/doomed"), std::nullopt);
  EXPECT_OK(node.store->VerifyIntegrity());
}

}  // namespace strongroom::replica::test_nodes

// EtcdClient against a real 3-member etcd cluster over mutual TLS.
#include "cluster/etcd_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"

namespace strongroom::cluster {
namespace {

using std::chrono::milliseconds;
using testing_support::EtcdCluster;
using Clock = std::chrono::steady_clock;

std::unique_ptr<EtcdClient> NewClient(const EtcdClientOptions& options) {
  auto client = EtcdClient::Create(options);
  EXPECT_OK(client);
  return client.has_value() ? std::move(*client) : nullptr;
}

TEST(EtcdClient, PutRangeAndDeleteWithPrefixLimitAndRevision) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto client = NewClient(etcd->ClientOptions());
  ASSERT_NE(client, nullptr);

  // Keys and values are bytes: NUL and 0xff travel unchanged.
  const std::string binary("v\0\xff", 3);
  auto first = client->Put({.key = "/t/a", .value = binary});
  ASSERT_OK(first);
  ASSERT_OK(client->Put({.key = "/t/b", .value = "2"}));
  ASSERT_OK(client->Put({.key = "/t/c", .value = "3"}));
  ASSERT_OK(client->Put({.key = "/u/x", .value = "outside the prefix"}));
  ASSERT_OK(client->Put({.key = "/t/a", .value = "replaced"}));

  auto page = client->Range({.key = "/t/", .range_end = PrefixEnd("/t/"), .limit = 2});
  ASSERT_OK(page);
  ASSERT_EQ(page->kvs.size(), 2u);
  EXPECT_EQ(page->kvs[0].key, "/t/a");
  EXPECT_EQ(page->kvs[0].value, "replaced");
  EXPECT_EQ(page->kvs[0].version, 2);
  EXPECT_EQ(page->kvs[1].key, "/t/b");
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->count, 3);

  // The store as of the first put's revision holds the first value.
  auto old = client->Range({.key = "/t/a", .revision = first->header.revision});
  ASSERT_OK(old);
  ASSERT_EQ(old->kvs.size(), 1u);
  EXPECT_EQ(old->kvs[0].value, binary);
  EXPECT_EQ(old->kvs[0].mod_revision, first->header.revision);

  auto deleted = client->Delete({.key = "/t/", .range_end = PrefixEnd("/t/")});
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->deleted, 3);
  auto after = client->Range({.key = "/t/", .range_end = PrefixEnd("/t/")});
  ASSERT_OK(after);
  EXPECT_TRUE(after->kvs.empty());
  auto outside = client->Range({.key = "/u/x", .serializable = true});
  ASSERT_OK(outside);
  EXPECT_EQ(outside->kvs.size(), 1u);

  // Once compacted, an old revision is out of range.
  ASSERT_OK(client->Compact(deleted->header.revision));
  EXPECT_STATUS(client->Range({.key = "/t/a", .revision = first->header.revision}),
                StatusCode::kOutOfRange);
}

TEST(EtcdClient, TxnCompareAndPutLosesToAConcurrentWrite) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto client = NewClient(etcd->ClientOptions());
  ASSERT_NE(client, nullptr);

  // Create compares a missing key: the second create fails and reads the first.
  const TxnRequest create{.compare = {Compare::KeyMissing("/v/k")},
                          .success = {PutRequest{.key = "/v/k", .value = "created"}},
                          .failure = {RangeRequest{.key = "/v/k"}}};
  auto created = client->Txn(create);
  ASSERT_OK(created);
  EXPECT_TRUE(created->succeeded);
  const std::int64_t created_revision = created->header.revision;
  auto again = client->Txn(create);
  ASSERT_OK(again);
  EXPECT_FALSE(again->succeeded);
  ASSERT_EQ(again->responses.size(), 1u);
  EXPECT_EQ(std::get<RangeResult>(again->responses[0]).kvs.at(0).mod_revision, created_revision);

  // Two writers read the same revision; the first update wins, the second
  // (comparing the now stale mod revision) changes nothing and learns the
  // winner's revision: Kubernetes' 409 on a stale resourceVersion.
  auto update = [&](const std::string& value) {
    return client->Txn({.compare = {Compare::ModRevisionIs("/v/k", created_revision)},
                        .success = {PutRequest{.key = "/v/k", .value = value}},
                        .failure = {RangeRequest{.key = "/v/k"}}});
  };
  auto winner = update("first writer");
  ASSERT_OK(winner);
  EXPECT_TRUE(winner->succeeded);
  EXPECT_GT(winner->header.revision, created_revision);
  auto loser = update("second writer");
  ASSERT_OK(loser);
  EXPECT_FALSE(loser->succeeded);
  const KeyValue& current = std::get<RangeResult>(loser->responses.at(0)).kvs.at(0);
  EXPECT_EQ(current.value, "first writer");
  EXPECT_EQ(current.mod_revision, winner->header.revision);
  // A read-only outcome makes no revision.
  EXPECT_EQ(loser->header.revision, winner->header.revision);

  // Value compares hold on equal bytes only.
  auto by_value = client->Txn({.compare = {Compare::ValueIs("/v/k", "first writer")},
                               .success = {DeleteRequest{.key = "/v/k"}},
                               .failure = {}});
  ASSERT_OK(by_value);
  EXPECT_TRUE(by_value->succeeded);
  EXPECT_EQ(std::get<DeleteResult>(by_value->responses.at(0)).deleted, 1);
}

TEST(EtcdClient, KilledLeaderCallsFailFastThenSucceedAfterTheElection) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  const int leader = etcd->FindLeader();
  ASSERT_GE(leader, 0);
  // The client talks to the leader first, as a node would after a while.
  std::vector<std::string> endpoints = {etcd->client_endpoint(leader)};
  for (int i = 0; i < etcd->size(); ++i) {
    if (i != leader) endpoints.push_back(etcd->client_endpoint(i));
  }
  const milliseconds call_timeout(2000);
  auto client = NewClient(etcd->ClientOptions(endpoints, call_timeout));
  ASSERT_NE(client, nullptr);
  auto before = client->Put({.key = "/k/before", .value = "1"});
  ASSERT_OK(before);
  EXPECT_NE(before->header.member_id, 0u);

  ASSERT_TRUE(etcd->Kill(leader));
  // Every call answers within its timeout (plus scheduling slack on a busy
  // machine), and one succeeds once the others have elected a new leader.
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(20);
  bool written = false;
  int failures = 0;
  while (!written && Clock::now() < give_up) {
    const Clock::time_point start = Clock::now();
    auto put = client->Put({.key = "/k/after", .value = "2"});
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    EXPECT_LE(took.count(), (call_timeout + milliseconds(1500)).count());
    if (put.has_value()) {
      written = true;
    } else {
      // Never sent (the killed member), or sent to a member without a
      // leader: the client cannot tell "no leader" from "may still apply".
      EXPECT_TRUE(put.error().code() == StatusCode::kUnavailable ||
                  put.error().code() == StatusCode::kOutcomeUnknown)
          << put.error();
      ++failures;
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  ASSERT_TRUE(written) << "no write succeeded within 20 s of killing the leader";
  const int new_leader = etcd->FindLeader();
  ASSERT_GE(new_leader, 0);
  EXPECT_NE(new_leader, leader);

  // The killed member restarts on its disk and catches up.
  ASSERT_TRUE(etcd->Restart(leader));
  auto direct = NewClient(etcd->ClientOptions({etcd->client_endpoint(leader)}));
  ASSERT_NE(direct, nullptr);
  bool caught_up = false;
  const Clock::time_point catch_up_deadline = Clock::now() + std::chrono::seconds(10);
  while (!caught_up && Clock::now() < catch_up_deadline) {
    // Serializable: answered from the restarted member's own copy.
    auto read = direct->Range({.key = "/k/after", .serializable = true});
    caught_up = read.has_value() && read->kvs.size() == 1 && read->kvs[0].value == "2";
    if (!caught_up) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(caught_up) << "the restarted member did not catch up within 10 s";
  RecordProperty("failed_calls_during_election", failures);
}

TEST(EtcdClient, EightConcurrentCreatorsEachGetTheirOwnRevision) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto client = NewClient(etcd->ClientOptions({}, milliseconds(5000)));
  ASSERT_NE(client, nullptr);
  // Eight threads share one client (its connection pool), each creating
  // its own keys with a create-only transaction, as node writers will.
  constexpr int kThreads = 8;
  constexpr int kCreatesPerThread = 100;
  std::vector<std::vector<std::int64_t>> revisions(kThreads);
  std::vector<int> failures(kThreads, 0);
  const Clock::time_point start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCreatesPerThread; ++i) {
          const std::string key = "/load/" + std::to_string(t) + "/" + std::to_string(i);
          auto created = client->Txn({.compare = {Compare::KeyMissing(key)},
                                      .success = {PutRequest{.key = key, .value = "v"}},
                                      .failure = {}});
          if (created.has_value() && created->succeeded) {
            revisions[t].push_back(created->header.revision);
          } else {
            ++failures[t];
          }
        }
      });
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<std::int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    all.insert(all.end(), revisions[t].begin(), revisions[t].end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a revision was shared";
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kCreatesPerThread));
  auto count = client->Range({.key = "/load/", .range_end = PrefixEnd("/load/"), .count_only = true});
  ASSERT_OK(count);
  EXPECT_EQ(count->count, kThreads * kCreatesPerThread);
  // A figure for the design's throughput question, not an assertion (this
  // machine is shared): create transactions per second through the gateway.
  const int per_second = static_cast<int>(all.size() / seconds);
  RecordProperty("creates_per_second", per_second);
  std::printf("etcd creates through the gateway, 8 threads: %d/s\n", per_second);
}

}  // namespace
}  // namespace strongroom::cluster

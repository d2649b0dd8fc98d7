// The replicated store's write side (docs/cluster-design.md, "Write path and
// outcomes"): a lost etcd answer resolved by a fence, batches over etcd's
// limits split, a store that joined a cluster never written alone, joining
// with local data refused, writes failing fast while the watch is down.
// Real etcd and LMDB; the one mocked fault is a lost request or answer
// (TxnFaultHook), which cannot be produced on demand against a real etcd.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "replica/etcd_replicator.h"
#include "replica/key_layout.h"
#include "replica/replica.h"
#include "tests/replica/etcd_nodes.h"
#include "tests/replica/replica_nodes.h"

namespace strongroom::replica {
namespace {

using namespace strongroom::replica::test_nodes;  // NOLINT: the suite's own helpers

// Faults scripts the TxnFaultHook: the fault for each "commit" and "fence"
// in turn (then none), and counts the calls.
struct Faults {
  std::mutex mu;
  std::vector<TxnFault> commits;  // guarded by mu: consumed front first
  TxnFault every_fence = TxnFault::kNone;
  int commit_calls = 0;
  int fence_calls = 0;
  std::function<void()> before_commit;  // runs (once) on the first commit

  TxnFaultHook Hook() {
    return [this](std::string_view what) {
      std::function<void()> run;
      TxnFault fault = TxnFault::kNone;
      {
        std::lock_guard lock(mu);
        if (what == "fence") {
          ++fence_calls;
          return every_fence;
        }
        ++commit_calls;
        if (!commits.empty()) {
          fault = commits.front();
          commits.erase(commits.begin());
        }
        std::swap(run, before_commit);
      }
      if (run) run();
      return fault;
    };
  }
  int Fences() {
    std::lock_guard lock(mu);
    return fence_calls;
  }
};

// StartFaultyNode adds a node whose etcd transactions go through `faults`.
Node* StartFaultyNode(EtcdNodes& cluster, Faults& faults,
                      std::chrono::milliseconds write_timeout = std::chrono::milliseconds(3000)) {
  return cluster.AddNode([&](ReplicaOptions& options) {
    options.txn_fault_for_testing = faults.Hook();
    options.write_timeout = write_timeout;
  });
}

TEST(ReplicaWrite, AnAnswerLostAfterTheTransactionAppliedIsResolvedAsCommittedAndAuditedOnce) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start());
  Faults faults;
  Node* a = StartFaultyNode(cluster, faults);
  ASSERT_NE(a, nullptr);
  StoreAudit& audit = cluster.AttachAudit(*a);
  faults.commits = {TxnFault::kLoseAnswer};

  auto written = Put(*a->store, "ns/lost-answer", "applied");
  ASSERT_OK(written);
  EXPECT_GE(faults.Fences(), 1);  // resolved through the fence
  EXPECT_EQ(Read(*a->store, "ns/lost-answer"), "applied");
  auto client = Client(cluster.etcd());
  ASSERT_NE(client, nullptr);
  EXPECT_FALSE(
      InEtcd(*client, KeyLayout(kClusterName).RecordKey(Table::kSecureValues, "ns/lost-answer"))
          .empty());
  EXPECT_EQ(audit.PreCommits(), 1);
  EXPECT_EQ(audit.Codes(), std::vector<StatusCode>{StatusCode::kOk});
  // The node goes on writing (its attempt key is known again).
  ASSERT_OK(Put(*a->store, "ns/next", "x"));
  EXPECT_EQ(audit.Codes(), (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kOk}));
}

TEST(ReplicaWrite, ARequestLostBeforeItAppliedIsTruthfullyNotCommitted) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start());
  Faults faults;
  Node* a = StartFaultyNode(cluster, faults);
  ASSERT_NE(a, nullptr);
  StoreAudit& audit = cluster.AttachAudit(*a);
  faults.commits = {TxnFault::kLoseRequest};
  const std::int64_t before = a->store->replica_revision();

  auto written = Put(*a->store, "ns/lost-request", "never");
  EXPECT_STATUS(written, StatusCode::kUnavailable);
  EXPECT_EQ(faults.Fences(), 1);
  EXPECT_EQ(audit.Codes(), std::vector<StatusCode>{StatusCode::kUnavailable});
  EXPECT_EQ(Read(*a->store, "ns/lost-request"), std::nullopt);
  auto client = Client(cluster.etcd());
  ASSERT_NE(client, nullptr);
  auto range = client->Range(
      {.key = KeyLayout(kClusterName).RecordKey(Table::kSecureValues, "ns/lost-request")});
  ASSERT_OK(range);
  EXPECT_TRUE(range->kvs.empty());
  // The fence changed no store key: nothing to apply, and writes go on.
  EXPECT_EQ(a->store->replica_revision(), before);
  ASSERT_OK(Put(*a->store, "ns/after", "y"));
  EXPECT_EQ(Read(*a->store, "ns/after"), "y");
  EXPECT_OK(a->replica->health());
}

TEST(ReplicaWrite, AFenceWhoseAnswersAreLostToTheDeadlineGivesOutcomeUnknownNeverNotCommitted) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start());
  Faults faults;
  Node* a = StartFaultyNode(cluster, faults, std::chrono::milliseconds(600));
  ASSERT_NE(a, nullptr);
  StoreAudit& audit = cluster.AttachAudit(*a);
  {
    std::lock_guard lock(faults.mu);
    faults.commits = {TxnFault::kLoseAnswer};
    faults.every_fence = TxnFault::kLoseRequest;
  }
  auto written = Put(*a->store, "ns/unknown", "maybe");
  EXPECT_STATUS(written, StatusCode::kOutcomeUnknown);
  EXPECT_GT(faults.Fences(), 1);  // retried within the deadline
  EXPECT_EQ(audit.Codes(), std::vector<StatusCode>{StatusCode::kOutcomeUnknown});
  {
    std::lock_guard lock(faults.mu);
    faults.every_fence = TxnFault::kNone;
  }
  // It had in fact committed: the apply loop brings it in.
  ASSERT_TRUE(WaitUntil([&] { return Read(*a->store, "ns/unknown") == "maybe"; }));
  ASSERT_OK(Put(*a->store, "ns/later", "z"));
  EXPECT_OK(a->store->VerifyIntegrity());
}

TEST(ReplicaWrite, ResolveNeverClaimsAnotherNodesIdenticalDigestRecord) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start(1));
  Node* a = cluster.node(0);
  Faults faults;
  Node* b = StartFaultyNode(cluster, faults);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->store->replica_revision(), b->store->replica_revision());
  // A kMeta-only write leaves D unchanged: A's and B's batches on the same
  // base carry byte-identical digest records. B's request is lost; A's
  // identical batch commits first.
  auto meta_write = [](Store& store) {
    return store.Write("meta only", [](WriteTxn& txn) {
      return txn.PutMeta("m2-probe", AsBytes(std::string("same")));
    });
  };
  Status a_wrote = Status::Internal("not run");
  faults.before_commit = [&] { a_wrote = ToStatus(meta_write(*a->store)); };
  faults.commits = {TxnFault::kLoseRequest};
  StoreAudit& audit = cluster.AttachAudit(*b);
  auto b_wrote = meta_write(*b->store);
  ASSERT_OK(a_wrote);
  // B's own batch never reached etcd: not committed, whatever A's digest says.
  EXPECT_STATUS(b_wrote, StatusCode::kUnavailable);
  EXPECT_EQ(audit.Codes(), std::vector<StatusCode>{StatusCode::kUnavailable});
  ASSERT_TRUE(WaitUntil([&] { return CaughtUp({b}, a->store->replica_revision()); }));
  EXPECT_EQ(Dump(*a->store), Dump(*b->store));
}

// ApplyGate holds a node's apply loop while closed (before_apply_for_testing).
struct ApplyGate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;  // guarded by mu
  int held = 0;         // guarded by mu: revisions waiting at the gate

  void Wait() {
    std::unique_lock lock(mu);
    ++held;
    cv.notify_all();
    cv.wait(lock, [&] { return !closed; });
    --held;
  }
  void Set(bool close) {
    {
      std::lock_guard lock(mu);
      closed = close;
    }
    cv.notify_all();
  }
  bool Holding() {
    std::lock_guard lock(mu);
    return held > 0;
  }
};

TEST(ReplicaWrite, ACreateStagedOnAStaleReplicaLosesInEtcdAndFailsOnTheFreshOne) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start(1));
  Node* a = cluster.node(0);
  ApplyGate gate;
  Faults faults;
  Node* b = cluster.AddNode([&](ReplicaOptions& options) {
    options.txn_fault_for_testing = faults.Hook();
    options.before_apply_for_testing = [&](std::int64_t) { gate.Wait(); };
  });
  ASSERT_NE(b, nullptr);
  // Whatever fails below, the gate opens before B stops (its watch thread
  // must not stay held).
  struct OpenAtEnd {
    ApplyGate& gate;
    ~OpenAtEnd() { gate.Set(false); }
  } open_at_end{gate};
  StoreAudit& audit = cluster.AttachAudit(*b);
  gate.Set(true);
  ASSERT_OK(Create(*a->store, "ns/once", "from a"));
  // B's apply loop holds A's create: B's replica is stale, for certain.
  ASSERT_TRUE(WaitUntil([&] { return gate.Holding(); }));
  EXPECT_EQ(Read(*b->store, "ns/once"), std::nullopt);
  // Opened once B's (stale) batch has gone to etcd; the conflict makes B
  // wait for A's revision, then run the create again on the fresh replica.
  std::thread opener([&] {
    EXPECT_TRUE(WaitUntil([&] {
      std::lock_guard lock(faults.mu);
      return faults.commit_calls >= 1;
    }));
    gate.Set(false);
  });
  auto created = Create(*b->store, "ns/once", "from b");
  opener.join();
  EXPECT_STATUS(created, StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(*b->store, "ns/once"), "from a");
  // One staged attempt, told it lost (kAborted); the second run of the
  // create failed on the fresh replica and staged nothing.
  EXPECT_EQ(audit.PreCommits(), 1);
  EXPECT_EQ(audit.Codes(), std::vector<StatusCode>{StatusCode::kAborted});
}

TEST(ReplicaWrite, ABatchOverEtcdsLimitsIsSplitAndASingleWriteOverThemFailsAlone) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start(1));
  Node* a = cluster.node(0);
  StoreAudit& audit = cluster.AttachAudit(*a);

  // One write of more records than one etcd transaction holds.
  auto huge = a->store->Write("huge", [](WriteTxn& txn) -> Status {
    for (int i = 0; i < static_cast<int>(kMaxTxnOps); ++i) {
      SR_RETURN_IF_ERROR(
          txn.Put(Table::kSecureValues, "huge/" + std::to_string(i), AsBytes(std::string("v"))));
    }
    return Status::Ok();
  });
  EXPECT_STATUS(huge, StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(*a->store, "huge/0"), std::nullopt);

  // 24 writes of 8 records each, queued behind a write that holds the
  // writer thread: one batch of 192 records, split until each part fits.
  constexpr int kWriters = 24;
  constexpr int kRecordsEach = 8;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::thread holder([&] {
    EXPECT_OK(a->store->Write("hold", [&](WriteTxn& txn) -> Status {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
      return ToStatus(txn.Put(Table::kSecureValues, "hold", AsBytes(std::string("h"))));
    }));
  });
  std::atomic<int> started{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      started.fetch_add(1);
      auto done = a->store->Write("many", [w](WriteTxn& txn) -> Status {
        for (int r = 0; r < kRecordsEach; ++r) {
          SR_RETURN_IF_ERROR(txn.Put(Table::kSecureValues,
                                     "many/" + std::to_string(w) + "/" + std::to_string(r),
                                     AsBytes(std::string(200, 'x'))));
        }
        return Status::Ok();
      });
      if (!done.has_value()) {
        failed.fetch_add(1);
        ADD_FAILURE() << done.error();
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return started.load() == kWriters; }));
  // Let the writers reach the queue (a bound, not an assertion).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  holder.join();
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failed.load(), 0);
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_EQ(Read(*a->store, "many/" + std::to_string(w) + "/" + std::to_string(kRecordsEach - 1)),
              std::string(200, 'x'));
  }
  // Each split shows as an attempt that did not commit (kAborted): there is
  // no other node to conflict with.
  int splits = 0;
  for (StatusCode code : audit.Codes()) splits += code == StatusCode::kAborted;
  std::cout << "the queued batch was split " << splits << " times\n";
  EXPECT_GE(splits, 1);
  EXPECT_OK(a->store->VerifyIntegrity());
}

TEST(ReplicaWrite, AStoreThatJoinedAClusterRefusesLocalWritesWithoutItsReplica) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start(1));
  Node* a = cluster.node(0);
  ASSERT_OK(Put(*a->store, "ns/k", "v"));
  a->replica.reset();
  a->store.reset();
  // Reopened without its replica (the CLI, or before Replica::Start).
  a->OpenStore();
  ASSERT_NE(a->store, nullptr);
  auto local = Put(*a->store, "ns/k", "forked");
  EXPECT_STATUS(local, StatusCode::kFailedPrecondition);
  EXPECT_EQ(Read(*a->store, "ns/k"), "v");
  // A Start that fails (an unreadable TLS file) leaves the store refusing.
  Status bad = a->StartReplica(cluster.etcd(), [](ReplicaOptions& options) {
    options.etcd.tls.key_file = "/nonexistent/key.pem";
  });
  EXPECT_FALSE(bad.ok());
  EXPECT_STATUS(Put(*a->store, "ns/k", "forked"), StatusCode::kUnavailable);
  // A good Start writes through the cluster again.
  ASSERT_OK(a->StartReplica(cluster.etcd()));
  ASSERT_OK(Put(*a->store, "ns/k", "through etcd"));
  EXPECT_EQ(Read(*a->store, "ns/k"), "through etcd");
}

TEST(ReplicaWrite, TwoNodesWithDataRacingToSeedLeaveTheLoserRefusingUnlessItDiscards) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start());
  Node nodes[2];
  for (int i = 0; i < 2; ++i) {
    nodes[i].OpenStore();
    ASSERT_NE(nodes[i].store, nullptr);
    // Written in single-node mode, before either joined.
    ASSERT_OK(Put(*nodes[i].store, "ns/own-" + std::to_string(i), "local"));
  }
  Status started[2];
  std::thread racers[2];
  for (int i = 0; i < 2; ++i) {
    racers[i] = std::thread([&, i] { started[i] = nodes[i].StartReplica(cluster.etcd()); });
  }
  for (std::thread& t : racers) t.join();
  ASSERT_NE(started[0].ok(), started[1].ok()) << started[0] << " / " << started[1];
  const int winner = started[0].ok() ? 0 : 1;
  const int loser = 1 - winner;
  EXPECT_EQ(started[loser].code(), StatusCode::kFailedPrecondition) << started[loser];
  // The loser kept its data, and refuses writes.
  EXPECT_EQ(Read(*nodes[loser].store, "ns/own-" + std::to_string(loser)), "local");
  EXPECT_STATUS(Put(*nodes[loser].store, "ns/x", "y"), StatusCode::kUnavailable);
  // Told to discard, it joins and holds the winner's state.
  ASSERT_OK(nodes[loser].StartReplica(
      cluster.etcd(), [](ReplicaOptions& options) { options.discard_local_data = true; }));
  EXPECT_EQ(Read(*nodes[loser].store, "ns/own-" + std::to_string(loser)), std::nullopt);
  EXPECT_EQ(Read(*nodes[loser].store, "ns/own-" + std::to_string(winner)), "local");
  EXPECT_EQ(Dump(*nodes[loser].store), Dump(*nodes[winner].store));
}

TEST(ReplicaWrite, WritesFailFastWhileTheWatchIsDisconnected) {
  EtcdNodes cluster;
  ASSERT_TRUE(cluster.Start(1));
  Node* a = cluster.node(0);
  ASSERT_OK(Put(*a->store, "ns/readable", "still here"));
  for (int i = 0; i < cluster.etcd().size(); ++i) ASSERT_TRUE(cluster.etcd().Kill(i));
  // health() reports the disconnected watch as a transient problem.
  ASSERT_TRUE(WaitUntil([&] { return !a->replica->health().ok(); }));
  EXPECT_EQ(a->replica->health().code(), StatusCode::kUnavailable) << a->replica->health();
  const Clock::time_point start = Clock::now();
  EXPECT_STATUS(Put(*a->store, "ns/unwritten", "x"), StatusCode::kUnavailable);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  std::cout << "write with the watch down answered in " << took << " ms\n";
  EXPECT_EQ(Read(*a->store, "ns/readable"), "still here");
  EXPECT_EQ(Read(*a->store, "ns/unwritten"), std::nullopt);
}

}  // namespace
}  // namespace strongroom::replica

// EtcdWatch against a real etcd cluster: order, resumption after a member
// dies, compaction.
#include "cluster/etcd_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"

namespace strongroom::cluster {
namespace {

using std::chrono::milliseconds;
using testing_support::EtcdCluster;

// Recorder keeps what a watch delivered and lets the test wait for it.
class Recorder {
 public:
  EtcdWatch::Handler Handler() {
    return [this](const WatchNotice& notice) {
      std::lock_guard lock(mutex_);
      switch (notice.kind) {
        case WatchNotice::Kind::kConnected: ++connected_; break;
        case WatchNotice::Kind::kDisconnected: ++disconnected_; break;
        case WatchNotice::Kind::kCompacted: compacted_revision_ = notice.revision; break;
        case WatchNotice::Kind::kEvents:
          for (const WatchEvent& event : notice.events) events_.push_back(event);
          break;
      }
      changed_.notify_all();
    };
  }
  // WaitFor waits (at most `wait`) until `done` holds under the lock.
  template <typename Predicate>
  bool WaitFor(milliseconds wait, Predicate done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait, [&] { return done(*this); });
  }

  int connected_ = 0;
  int disconnected_ = 0;
  std::int64_t compacted_revision_ = 0;
  std::vector<WatchEvent> events_;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

TEST(EtcdWatch, DeliversEventsInRevisionOrderAndResumesAfterItsMemberDies) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  // The writer never talks to member 0, which the test kills.
  auto writer =
      EtcdClient::Create(etcd->ClientOptions({etcd->client_endpoint(1), etcd->client_endpoint(2)}));
  ASSERT_OK(writer);
  auto now = (*writer)->Range({.key = "/w/"});
  ASSERT_OK(now);

  // The watch opens on member 0 (the first endpoint) from the next revision.
  Recorder recorder;
  auto watch = EtcdWatch::Start(
      etcd->ClientOptions(),
      WatchOptions{.key = "/w/", .range_end = PrefixEnd("/w/"),
                   .start_revision = now->header.revision + 1,
                   .reconnect_pause = milliseconds(100)},
      recorder.Handler());
  ASSERT_OK(watch);

  std::vector<std::int64_t> expected;
  auto put = [&](const std::string& key, const std::string& value) {
    auto done = (*writer)->Put({.key = key, .value = value});
    ASSERT_OK(done);
    expected.push_back(done->header.revision);
  };
  for (int i = 0; i < 5; ++i) put("/w/" + std::to_string(i), "before " + std::to_string(i));
  put("/x/outside", "not watched");
  expected.pop_back();
  auto deleted = (*writer)->Delete({.key = "/w/0"});
  ASSERT_OK(deleted);
  expected.push_back(deleted->header.revision);
  ASSERT_TRUE(recorder.WaitFor(milliseconds(10000), [&](const Recorder& r) {
    return r.events_.size() == expected.size();
  })) << "the watch did not deliver the first writes";

  // Member 0 dies. The watch reconnects to another member from the next
  // revision; writes made meanwhile arrive once, in order.
  ASSERT_TRUE(etcd->Kill(0));
  ASSERT_GE(etcd->FindLeader(), 1);
  for (int i = 5; i < 10; ++i) put("/w/" + std::to_string(i), "after " + std::to_string(i));
  ASSERT_TRUE(recorder.WaitFor(milliseconds(20000), [&](const Recorder& r) {
    return r.events_.size() >= expected.size();
  })) << "the watch did not resume after its member died";
  (*watch)->Stop();

  std::vector<std::int64_t> delivered;
  for (const WatchEvent& event : recorder.events_) delivered.push_back(event.kv.mod_revision);
  EXPECT_EQ(delivered, expected);
  EXPECT_GE(recorder.disconnected_, 1);
  EXPECT_GE(recorder.connected_, 2);
  EXPECT_EQ((*watch)->next_revision(), expected.back() + 1);
  ASSERT_EQ(recorder.events_.size(), 11u);
  EXPECT_EQ(recorder.events_[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(recorder.events_[0].kv.key, "/w/0");
  EXPECT_EQ(recorder.events_[0].kv.value, "before 0");
  EXPECT_EQ(recorder.events_[5].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(recorder.events_[5].kv.key, "/w/0");
  EXPECT_EQ(recorder.events_[10].kv.value, "after 9");
}

TEST(EtcdWatch, ReportsCompactionPastItsStartAndEnds) {
  auto etcd = EtcdCluster::Start(1);
  ASSERT_NE(etcd, nullptr);
  auto client = EtcdClient::Create(etcd->ClientOptions());
  ASSERT_OK(client);
  auto first = (*client)->Put({.key = "/c/k", .value = "1"});
  ASSERT_OK(first);
  ASSERT_OK((*client)->Put({.key = "/c/k", .value = "2"}));
  auto third = (*client)->Put({.key = "/c/k", .value = "3"});
  ASSERT_OK(third);
  ASSERT_OK((*client)->Compact(third->header.revision));

  Recorder recorder;
  auto watch = EtcdWatch::Start(etcd->ClientOptions(),
                                WatchOptions{.key = "/c/k", .start_revision = first->header.revision},
                                recorder.Handler());
  ASSERT_OK(watch);
  ASSERT_TRUE(recorder.WaitFor(milliseconds(10000), [](const Recorder& r) {
    return r.compacted_revision_ != 0;
  })) << "no compaction reported";
  // The watch ends by itself: the caller must read in full and watch anew.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(*watch)->ended() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE((*watch)->ended());
  (*watch)->Stop();
  EXPECT_EQ(recorder.compacted_revision_, third->header.revision);
  EXPECT_TRUE(recorder.events_.empty());
  EXPECT_EQ(recorder.disconnected_, 0);
}

TEST(EtcdWatch, DeliversEveryKeyOfAMultiKeyTransaction) {
  auto etcd = EtcdCluster::Start();
  ASSERT_NE(etcd, nullptr);
  auto writer = EtcdClient::Create(etcd->ClientOptions());
  ASSERT_OK(writer);
  Recorder recorder;
  auto watch = EtcdWatch::Start(
      etcd->ClientOptions(), WatchOptions{.key = "/m/", .range_end = PrefixEnd("/m/")},
      recorder.Handler());
  ASSERT_OK(watch);
  ASSERT_TRUE(recorder.WaitFor(milliseconds(10000), [](Recorder& r) { return r.connected_ > 0; }));
  // One revision, three keys: all three are delivered (a duplicate filter
  // keyed on the revision once dropped all but the first).
  auto txn = (*writer)->Txn({.success = {PutRequest{.key = "/m/a", .value = "1"},
                                         PutRequest{.key = "/m/b", .value = "2"},
                                         DeleteRequest{.key = "/m/none"},
                                         PutRequest{.key = "/m/c", .value = "3"}}});
  ASSERT_OK(txn);
  ASSERT_TRUE(recorder.WaitFor(milliseconds(10000),
                               [](Recorder& r) { return r.events_.size() >= 3; }));
  ASSERT_TRUE(recorder.WaitFor(milliseconds(0), [&](Recorder& r) {
    if (r.events_.size() != 3) return false;
    for (const WatchEvent& event : r.events_) {
      if (event.kv.mod_revision != txn->header.revision) return false;
    }
    return r.events_[0].kv.key == "/m/a" && r.events_[1].kv.key == "/m/b" &&
           r.events_[2].kv.key == "/m/c";
  }));
}

}  // namespace
}  // namespace strongroom::cluster

// LeaderLease against a real etcd: one holder at a time, and the lock passes
// on when the holder stops renewing.
#include "cluster/leader_lease.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/status_matchers.h"

namespace strongroom::cluster {
namespace {

using std::chrono::milliseconds;
using testing_support::EtcdCluster;

TEST(LeaderLease, ExpiryHandsTheLockToTheOtherHolder) {
  auto etcd = EtcdCluster::Start(1);
  ASSERT_NE(etcd, nullptr);
  auto client = EtcdClient::Create(etcd->ClientOptions());
  ASSERT_OK(client);
  const std::string key = "/strongroom/leader/background";
  LeaderLease a(**client, {.key = key, .holder = "node-a", .ttl_seconds = 2});
  LeaderLease b(**client, {.key = key, .holder = "node-b", .ttl_seconds = 2});

  auto a_took = a.TryAcquire();
  ASSERT_OK(a_took);
  EXPECT_TRUE(*a_took);
  ASSERT_TRUE(a.fencing_revision().has_value());
  auto b_took = b.TryAcquire();
  ASSERT_OK(b_took);
  EXPECT_FALSE(*b_took);
  EXPECT_FALSE(b.held());
  EXPECT_EQ(b.CurrentHolder().value_or("?"), "node-a");
  EXPECT_OK(a.KeepAlive());
  auto a_again = a.TryAcquire();  // held already: still true, same fence
  ASSERT_OK(a_again);
  EXPECT_TRUE(*a_again);

  // Node a stops renewing (it died). Node b's tries take the lock once the
  // lease has expired, and not before etcd deleted a's key.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  bool b_holds = false;
  while (!b_holds && std::chrono::steady_clock::now() < give_up) {
    auto tried = b.TryAcquire();
    ASSERT_OK(tried);
    b_holds = *tried;
    if (!b_holds) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_TRUE(b_holds) << "the lock did not pass on within 15 s of a's last renewal";
  EXPECT_EQ(b.CurrentHolder().value_or("?"), "node-b");
  ASSERT_TRUE(b.fencing_revision().has_value());
  EXPECT_GT(*b.fencing_revision(), *a.fencing_revision());

  // Node a learns it lost the lock at its next renewal, and cannot take it back.
  EXPECT_STATUS(a.KeepAlive(), StatusCode::kNotFound);
  EXPECT_FALSE(a.held());
  auto a_retry = a.TryAcquire();
  ASSERT_OK(a_retry);
  EXPECT_FALSE(*a_retry);

  // An orderly release hands over at once.
  ASSERT_OK(b.Release());
  EXPECT_FALSE(b.held());
  auto a_after_release = a.TryAcquire();
  ASSERT_OK(a_after_release);
  EXPECT_TRUE(*a_after_release);
  EXPECT_OK(a.Release());
  EXPECT_EQ(a.CurrentHolder().value_or("?"), "");
}

}  // namespace
}  // namespace strongroom::cluster

// AuthThrottle (api/auth/auth_throttle.h): who shares a throttle, and what a
// flood of new clients can and cannot reset. Time is a hand-moved steady
// clock; nothing sleeps.
#include "api/auth/auth_throttle.h"

#include <gtest/gtest.h>

#include <memory>

namespace strongroom::api {
namespace {

using std::chrono::seconds;
using SteadyTime = std::chrono::steady_clock::time_point;

class AuthThrottleTest : public ::testing::Test {
 protected:
  // Make returns a throttle that reads `now_`: per-address throttling after
  // 3 failures, per (user, address) after 2, tables of `max_tracked`.
  std::unique_ptr<AuthThrottle> Make(std::size_t max_tracked = 1000) {
    AuthThrottleOptions options;
    options.free_failures_per_user_address = 2;
    options.free_failures_per_address = 3;
    options.max_backoff = seconds(60);
    options.max_tracked = max_tracked;
    return std::make_unique<AuthThrottle>(options, [this] { return now_; });
  }
  // Fail records `n` failures of `user` from `peer`.
  static void Fail(AuthThrottle& throttle, std::string_view user, std::string_view peer,
                   unsigned n) {
    for (unsigned i = 0; i < n; ++i) throttle.RecordFailure(user, peer);
  }

  SteadyTime now_{seconds(1000)};
};

TEST(AuthThrottleClientOf, DropsThePortAndGroupsIpv6ByItsSlash64) {
  EXPECT_EQ(AuthThrottle::ClientOf("192.0.2.7:443"), "192.0.2.7");
  EXPECT_EQ(AuthThrottle::ClientOf("[::ffff:192.0.2.7]:443"), "192.0.2.7");
  EXPECT_EQ(AuthThrottle::ClientOf("[2001:db8:1:2:3:4:5:6]:443"), "2001:db8:1:2::/64");
  EXPECT_EQ(AuthThrottle::ClientOf("[fe80::1%eth0]:443"), "fe80::/64");
  EXPECT_EQ(AuthThrottle::ClientOf("2001:db8::1"), "2001:db8::/64");
  EXPECT_EQ(AuthThrottle::ClientOf("[::1]:443"), "::/64");
}

TEST_F(AuthThrottleTest, Ipv6AddressesOfOneSlash64ShareTheAddressThrottle) {
  auto throttle = Make();
  Fail(*throttle, "u1", "[2001:db8:1:2::1]:5000", 1);
  Fail(*throttle, "u2", "[2001:db8:1:2::abcd]:5001", 1);
  Fail(*throttle, "u3", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:5002", 1);
  EXPECT_GT(throttle->WaitSeconds("u4", "[2001:db8:1:2:1234::9]:6000"), 0)
      << "a host rotating through its /64 is one client";
  EXPECT_EQ(throttle->WaitSeconds("u4", "[2001:db8:1:3::1]:6000"), 0) << "another /64";
}

TEST_F(AuthThrottleTest, Ipv4StaysPerAddressAndMappedIpv6CountsAsIpv4) {
  auto throttle = Make();
  Fail(*throttle, "u1", "192.0.2.7:5000", 2);
  Fail(*throttle, "u2", "[::ffff:192.0.2.7]:5001", 1);
  EXPECT_GT(throttle->WaitSeconds("u3", "192.0.2.7:7000"), 0) << "::ffff:192.0.2.7 is 192.0.2.7";
  EXPECT_EQ(throttle->WaitSeconds("u3", "192.0.2.8:7000"), 0) << "IPv4 is never grouped";
}

TEST_F(AuthThrottleTest, PerUserAddressBackoffDoublesAndExpires) {
  auto throttle = Make();
  Fail(*throttle, "alice", "192.0.2.1:1", 2);
  EXPECT_EQ(throttle->WaitSeconds("alice", "192.0.2.1:2"), 1);
  throttle->RecordFailure("alice", "192.0.2.1:3");
  EXPECT_EQ(throttle->WaitSeconds("alice", "192.0.2.1:4"), 2);
  EXPECT_EQ(throttle->WaitSeconds("alice", "192.0.2.9:4"), 0) << "never per user alone";
  now_ += seconds(2);
  EXPECT_EQ(throttle->WaitSeconds("alice", "192.0.2.1:5"), 0);
  throttle->RecordSuccess("alice", "192.0.2.1:6");
  EXPECT_EQ(throttle->WaitSeconds("alice", "192.0.2.1:7"), 0);
}

TEST_F(AuthThrottleTest, AFullTableForgetsTheLeastRecentlyUsedNotEveryone) {
  auto throttle = Make(/*max_tracked=*/4);
  // The attacker is throttled (per address and per user-address).
  Fail(*throttle, "admin", "198.51.100.1:1", 3);
  ASSERT_GT(throttle->WaitSeconds("admin", "198.51.100.1:2"), 0);
  // An old, quiet client, then a flood of new ones from other addresses;
  // the attacker keeps knocking between them.
  throttle->RecordFailure("old", "203.0.113.200:1");
  now_ += seconds(1);
  for (int i = 0; i < 10; ++i) {
    throttle->RecordFailure("x", "203.0.113." + std::to_string(i) + ":1");
    EXPECT_GT(throttle->WaitSeconds("admin", "198.51.100.1:2"), 0) << "flood entry " << i;
  }
  EXPECT_GT(throttle->WaitSeconds("admin", "198.51.100.1:2"), 0)
      << "a recently throttled client stays throttled";
  // The least recently used entry was evicted: "old" starts from zero
  // (kept, its second failure would make it wait).
  throttle->RecordFailure("old", "203.0.113.200:1");
  EXPECT_EQ(throttle->WaitSeconds("old", "203.0.113.200:1"), 0);
}

}  // namespace
}  // namespace strongroom::api

// GET /readyz is anonymous (SPEC 6.6), so it must be cheap and say nothing
// an outsider could use (issue 16's review): the token probe, a PKCS#11
// call on the shared session pool, runs at most once a second however many
// callers ask, and the body holds only booleans, never a problem's text.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/api/in_process_server.h"

namespace strongroom {
namespace {

using testing_support::HttpsClient;
using testing_support::HttpsResponse;

class Readiness : public InProcessServerTest {
 protected:
  Readiness() { server_clock_ = &clock_; }

  HttpsResponse Ready() {
    HttpsClient anonymous("https://127.0.0.1:" + std::to_string(server_->port()),
                          pki_.ca_cert_path());
    return anonymous.Request("GET", "/readyz");
  }

  // Probes only: the server's own checkpoint signatures and anchor writes
  // also use the token, at times this test does not control.
  std::uint64_t TokenProbes() const { return token_->counters().probes; }

  ManualClock clock_{TimePoint(std::chrono::hours(24 * 20000))};
};

TEST_F(Readiness, ManyCallsWithinASecondProbeTheTokenOnce) {
  const std::uint64_t before = TokenProbes();
  ASSERT_EQ(Ready().status, 200);
  EXPECT_EQ(TokenProbes() - before, 1u) << "the first call probes";

  for (int i = 0; i < 10; ++i) ASSERT_EQ(Ready().status, 200);
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      if (Ready().status == 200) ++ok;
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(TokenProbes() - before, 1u) << "calls within the window reuse the result";

  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_EQ(Ready().status, 200);
  EXPECT_EQ(TokenProbes() - before, 2u) << "an expired result is probed again";
}

TEST_F(Readiness, TheBodyHoldsOnlyBooleans) {
  HttpsResponse ready = Ready();
  ASSERT_EQ(ready.status, 200) << ready.body;
  nlohmann::json body = nlohmann::json::parse(ready.body);
  EXPECT_EQ(body, nlohmann::json::parse(
                      R"({"status":"ok","checks":{"token":true,"store":true,"policy":true,)"
                      R"("audit":true,"memory_locked":true}})"));
}

TEST_F(Readiness, ABlockedAuditLogIsFalseWithoutItsReason) {
  sink_->Block(true);
  HttpsResponse refused = Admin().Request("POST", Path(), Body("during"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  HttpsResponse ready = Ready();
  EXPECT_EQ(ready.status, 503) << ready.body;
  nlohmann::json body = nlohmann::json::parse(ready.body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["checks"]["audit"], false);
  EXPECT_EQ(body["checks"]["token"], true);
  for (const auto& [name, value] : body["checks"].items()) {
    EXPECT_TRUE(value.is_boolean()) << name << ": " << value;
  }
  sink_->Block(false);
}

}  // namespace
}  // namespace strongroom

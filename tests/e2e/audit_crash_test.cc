// Crash consistency of the audit log (SPEC section 8, issue 5): the server
// is killed with SIGKILL under a write load of 8 concurrent clients, ten
// times in a row on the same data. After start-up recovery the log
// verifies, every create answered 201 has its allowed record, and every
// allowed create record either has its value in the store or is followed by
// a not-committed record (recovery's converse check).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"

namespace strongroom::testing_support {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kRounds = 10;
constexpr int kClients = 8;
constexpr int kMaxRequestsPerClient = 200;      // per round
constexpr auto kMaxLoad = milliseconds(1'500);  // per round

// CreateBody is a create body for `name` (the value is not a secret here).
std::string CreateBody(const std::string& name) {
  return ToBody({.name = name, .value = "crash-value-" + name});
}

// LoadAndKill runs kClients clients creating unique names "r<round>-c<i>-<n>"
// as the admin certificate (no password hashing on the way), kills the
// server with SIGKILL after `kill_after`, and adds the names answered 201 to
// `created`. Every client stops at its first failed transfer, after
// kMaxRequestsPerClient requests or after kMaxLoad.
void LoadAndKill(ServerProcess& server, int round, milliseconds kill_after,
                 std::set<std::string>& created) {
  std::mutex mutex;
  std::vector<std::thread> clients;
  const Clock::time_point until = Clock::now() + kMaxLoad;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpsClient client = server.CertClient(server.admin_cert());
      client.SetTimeoutMs(3'000);
      for (int n = 0; n < kMaxRequestsPerClient && Clock::now() < until; ++n) {
        const std::string name =
            "r" + std::to_string(round) + "-c" + std::to_string(c) + "-" + std::to_string(n);
        HttpsResponse response = client.Request("POST", SecureValues("team-a"), CreateBody(name));
        if (response.status == 201) {
          std::lock_guard lock(mutex);
          created.insert(name);
        }
        if (response.status == 0) break;  // the server is gone
      }
    });
  }
  std::this_thread::sleep_for(kill_after);
  EXPECT_EQ(::kill(server.pid(), SIGKILL), 0);
  for (std::thread& client : clients) client.join();
}

TEST(AuditCrash, KillNineUnderEightWritersTenTimesLeavesAVerifyingLogWithEverySuccessRecorded) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  std::mt19937 random(20261204);
  std::uniform_int_distribution<int> delay_ms(150, 700);
  std::set<std::string> created;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    LoadAndKill(*server, round, milliseconds(delay_ms(random)), created);
    ASSERT_EQ(server->Restart(), 0) << "start-up recovery after SIGKILL";
  }
  ASSERT_FALSE(created.empty()) << "the load made no write at all";

  std::vector<nlohmann::json> records = AuditRecords(*server);
  std::map<std::string, std::uint64_t> create_seq;  // allowed create records by name
  std::set<std::uint64_t> cancelled;                // refers_to of not-committed records
  for (const nlohmann::json& r : records) {
    if (Field(r, "/type") == "not-committed") cancelled.insert(r.value("refers_to", 0ull));
    if (Field(r, "/type") == "event" && Field(r, "/action") == "secret.securevalues:create" &&
        Field(r, "/outcome/result") == "allowed") {
      EXPECT_EQ(create_seq.count(Field(r, "/resource/name")), 0u) << "two allowed creates";
      create_seq[Field(r, "/resource/name")] = r.value("seq", 0ull);
    }
  }
  for (const std::string& name : created) {
    EXPECT_EQ(create_seq.count(name), 1u) << name << " was answered 201 but has no record";
  }
  // The converse: a record of an allowed write has its change, or a
  // not-committed record follows it.
  HttpsClient reader = server->CertClient(server->admin_cert());
  int committed = 0, not_committed = 0;
  for (const auto& [name, seq] : create_seq) {
    const long status = reader.Request("GET", SecureValue("team-a", name)).status;
    if (status == 200) {
      ++committed;
      EXPECT_EQ(cancelled.count(seq), 0u) << name << " exists but its record was cancelled";
    } else {
      ++not_committed;
      EXPECT_EQ(status, 404) << name;
      EXPECT_EQ(cancelled.count(seq), 1u)
          << name << " (seq " << seq << ") is missing and has no not-committed record";
    }
  }
  std::printf("crash test: %zu creates answered 201, %d committed records, %d not committed\n",
              created.size(), committed, not_committed);

  EXPECT_EQ(server->Stop(), 0);
  audit::VerifyReport report = VerifyOffline(*server, public_key);
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.pending, 0u) << report.Summary();
  EXPECT_EQ(WithAction(AuditRecords(*server), "server.start").size(),
            static_cast<std::size_t>(kRounds + 1));
}

}  // namespace
}  // namespace strongroom::testing_support

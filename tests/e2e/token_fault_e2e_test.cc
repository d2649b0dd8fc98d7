// Token faults end to end (SPEC 4, 8, 9; issue 20): the real server loads
// its token through the fault-injecting PKCS#11 module, which forwards to
// SoftHSM and which this test drives from outside the server through a
// shared control page (ServerProcess::fault_control()). Under a bounded load
// (two threads decrypting, one creating) the module fails every call for a
// few seconds, loses its sessions, or loses the whole token (no slot), and
// comes back. Expected (docs/faults.md):
//   - a request that needs the token answers 503 within 2 s, and /readyz
//     turns 503 within 2 s;
//   - data keys already unwrapped stay cached: decrypts and creates in a
//     namespace whose key is cached keep being served (chosen behaviour);
//   - every answer is 200, 201 or 503, never a 500, a hang or a reset;
//   - the server recovers with no restart (same pid);
//   - every create answered 201 reads back and decrypts to its value, and
//     the audit log verifies sealed with `strongroom audit verify`.
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/fault_load.h"
#include "tests/support/server_process.h"

namespace strongroom::testing_support {
namespace {

using fault_e2e::Answer;
using fault_e2e::Body;
using fault_e2e::FaultLoad;
using fault_e2e::ValueOf;
using fault_e2e::Values;
using std::chrono::milliseconds;

constexpr milliseconds kPromptly{2000};  // SPEC 8/9: 503 within 2 s

enum Phase { kBefore = 0, kFault = 1, kAfter = 2 };

class TokenFaultE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerProcessOptions options;
    options.through_fault_module = true;
    options.extra_policy_files["faults.json"] = fault_e2e::kDecryptEverywhere;
    server_ = ServerProcess::Start(options);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->fault_control(), nullptr);
    public_key_ = AuditPublicKey(*server_);
    HttpsClient admin = server_->CertClient(server_->admin_cert());
    for (int i = 0; i < 8; ++i) {
      const std::string name = "seed-" + std::to_string(i);
      ASSERT_EQ(admin.Request("POST", Values("team-a"), Body(name, ValueOf(name))).status, 201);
      seeds_.push_back(name);
    }
    pid_ = server_->pid();
  }

  // FreshCreate creates a value in a namespace never used before, so the
  // server must make and wrap a new data key: that needs the token.
  Answer FreshCreate(const std::string& tag) {
    HttpsClient admin = server_->CertClient(server_->admin_cert());
    admin.SetTimeoutMs(8000);
    const std::string ns = "fresh-" + tag + "-" + std::to_string(fresh_++);
    const auto start = fault_e2e::Clock::now();
    HttpsResponse response = admin.Request("POST", Values(ns), Body("x", ValueOf("x")));
    Answer answer{"fresh", ns, response.status,
                  std::chrono::duration_cast<milliseconds>(fault_e2e::Clock::now() - start), 0};
    if (response.status == 201) fresh_created_.push_back(ns);
    return answer;
  }

  // Metric returns the value of the unlabelled metric `name` from /metrics
  // (read as the admin), or -1.
  double Metric(const std::string& name) {
    HttpsClient admin = server_->CertClient(server_->admin_cert());
    HttpsResponse metrics = admin.Request("GET", "/metrics");
    std::istringstream lines(metrics.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    }
    return -1;
  }

  // RunScenario: load before, `arm` the fault for `fault_for`, checks while
  // it holds, `disarm`, recovery checks, then the after-checks. With
  // `expect_outage` the token is unusable while armed (503s and readiness
  // false are required); without it (sessions lost) only recovery is.
  void RunScenario(const std::function<void()>& arm, const std::function<void()>& disarm,
                   milliseconds fault_for, bool expect_outage) {
    FaultLoad load(*server_, "team-a", seeds_, /*decrypt_threads=*/2, /*create_threads=*/1, "load");
    HttpsClient probe(server_->base_url(), server_->ca_path());
    probe.SetTimeoutMs(8000);
    std::this_thread::sleep_for(milliseconds(500));
    ASSERT_EQ(FreshCreate("before").status, 201);
    const double recoveries_before = Metric("strongroom_token_recoveries_total");
    ASSERT_GE(recoveries_before, 0);

    load.SetPhase(kFault);
    arm();
    const auto armed_at = fault_e2e::Clock::now();
    if (expect_outage) {
      // Readiness: its token probe is cached for 1 s, so 503 within 2 s.
      const milliseconds not_ready = fault_e2e::WaitForStatus(probe, "/readyz", 503, milliseconds(4000));
      EXPECT_GE(not_ready.count(), 0) << "/readyz never turned 503";
      EXPECT_LE(not_ready, kPromptly) << "/readyz took " << not_ready.count() << " ms to turn 503";
      std::cout << "[ token ] /readyz 503 after " << not_ready.count() << " ms\n";
      // A request that needs the token: 503 within 2 s, more than once.
      for (int i = 0; i < 3; ++i) {
        Answer fresh = FreshCreate("during");
        EXPECT_EQ(fresh.status, 503) << "a create needing a new data key during the fault";
        EXPECT_LE(fresh.latency, kPromptly) << fresh.latency.count() << " ms";
        std::cout << "[ token ] a create needing the token: " << fresh.status << " in "
                  << fresh.latency.count() << " ms\n";
      }
    }
    std::this_thread::sleep_for(fault_for - std::chrono::duration_cast<milliseconds>(
                                                fault_e2e::Clock::now() - armed_at));
    disarm();
    load.SetPhase(kAfter);

    // Recovery with no restart: ready again, token usable again.
    const milliseconds ready = fault_e2e::WaitForStatus(probe, "/readyz", 200, milliseconds(15000));
    EXPECT_GE(ready.count(), 0) << "/readyz did not return to 200 without a restart";
    Answer fresh{};
    for (int i = 0; i < 20 && fresh.status != 201; ++i) {
      fresh = FreshCreate("after");
      if (fresh.status != 201) std::this_thread::sleep_for(milliseconds(250));
    }
    EXPECT_EQ(fresh.status, 201) << "a new data key can be made again";
    const double recoveries = Metric("strongroom_token_recoveries_total") - recoveries_before;
    std::cout << "[ token ] readiness back after " << ready.count() << " ms; " << recoveries
              << " token recoveries\n";
    EXPECT_GT(recoveries, 0) << "the token pool recovered (re-opened sessions or the module)";
    // Recovery is retried at most four times a second while the token stays
    // away (crypto::TokenOptions::recovery_backoff, 250 ms in the server),
    // not on every failing call (that was ~1,200 module re-initialisations a
    // second under this load).
    EXPECT_LE(recoveries, 4.0 * (fault_for.count() / 1000.0 + 3) + 8);
    std::this_thread::sleep_for(milliseconds(1000));
    load.Stop();
    EXPECT_EQ(server_->pid(), pid_) << "the server was not restarted";
    EXPECT_EQ(::kill(pid_, 0), 0);

    const std::vector<Answer> answers = load.answers();
    const std::string summary = fault_e2e::Summary(answers);
    std::cout << "[ load ] " << summary << "\n";
    // Every answer is a success or a prompt 503: never 500, a hang or a reset.
    int unexpected = 0;
    for (const Answer& a : answers) {
      const bool ok = a.status == 200 || a.status == 201;
      if (!ok && a.status != 503) ++unexpected;
      if (a.status == 503) {
        EXPECT_LE(a.latency, kPromptly) << a.kind << " 503 after " << a.latency.count() << " ms";
      }
    }
    EXPECT_EQ(unexpected, 0) << summary;
    EXPECT_EQ(load.wrong_values(), 0);
    // Chosen behaviour: cached data keys keep serving. The load's namespace
    // had its key unwrapped before the fault, so its decrypts never fail.
    for (const Answer& a : answers) {
      if (a.kind == "decrypt") {
        EXPECT_EQ(a.status, 200) << "phase " << a.phase << ": " << summary;
      }
    }
    // Some load ran in every phase.
    for (int phase : {kBefore, kFault, kAfter}) {
      EXPECT_TRUE(std::any_of(answers.begin(), answers.end(),
                              [phase](const Answer& a) { return a.phase == phase && a.status == 200; }))
          << "no decrypt served in phase " << phase << ": " << summary;
    }

    // No acknowledged write is lost.
    const std::set<std::string> acknowledged = fault_e2e::Acknowledged(answers);
    EXPECT_FALSE(acknowledged.empty());
    fault_e2e::ExpectAcknowledgedReadBack(*server_, "team-a", acknowledged);
    for (const std::string& ns : fresh_created_) {
      fault_e2e::ExpectAcknowledgedReadBack(*server_, ns, {"x"});
    }
    EXPECT_EQ(server_->Stop(), 0) << server_->stderr_text();
    fault_e2e::ExpectAuditVerifies(*server_, public_key_);
  }

  std::unique_ptr<ServerProcess> server_;
  std::string public_key_;
  std::vector<std::string> seeds_;
  std::vector<std::string> fresh_created_;
  int fresh_ = 0;
  pid_t pid_ = -1;
};

TEST_F(TokenFaultE2e, EveryCallFailingForSecondsGives503AndTheServerRecovers) {
  const FaultControlFile& fault = *server_->fault_control();
  RunScenario([&] { fault.SetFault(CKR_DEVICE_ERROR); }, [&] { fault.ClearFault(); },
              milliseconds(3000), /*expect_outage=*/true);
}

TEST_F(TokenFaultE2e, TheTokenRemovedAndReinsertedGives503AndTheServerRecovers) {
  // CKR_TOKEN_NOT_PRESENT: every call fails and the slot list is empty, as
  // when the device is unplugged; clearing it plugs the token back in.
  const FaultControlFile& fault = *server_->fault_control();
  RunScenario([&] { fault.SetFault(CKR_TOKEN_NOT_PRESENT); }, [&] { fault.ClearFault(); },
              milliseconds(3000), /*expect_outage=*/true);
}

TEST_F(TokenFaultE2e, LostSessionsAreReopenedWithoutAnOutage) {
  // Every pooled session (8) and then some answer CKR_SESSION_HANDLE_INVALID
  // once, as after the token closed them; the pool re-opens them.
  const FaultControlFile& fault = *server_->fault_control();
  RunScenario(
      [&] {
        fault.FailNext(CKR_SESSION_HANDLE_INVALID, 12);
        // Make the server touch the token while the sessions are "lost".
        for (int i = 0; i < 4; ++i) {
          const Answer fresh = FreshCreate("lost");
          EXPECT_TRUE(fresh.status == 201 || fresh.status == 503) << fresh.status;
          EXPECT_LE(fresh.latency, kPromptly);
        }
      },
      [] {}, milliseconds(2000), /*expect_outage=*/false);
}

}  // namespace
}  // namespace strongroom::testing_support

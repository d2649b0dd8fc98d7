// The real API server, in this process, over real TLS, with an audit sink
// that blocks when the test says so (SPEC section 8: requests that must be
// audited get 503 within 2 s and readiness turns false; nothing hangs;
// service resumes when the sink unblocks). A sink that blocks cannot be
// produced for real, hence the one injected fault.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/api/in_process_server.h"
#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

using testing_support::HttpsClient;
using testing_support::HttpsResponse;
using AuditFailClosed = InProcessServerTest;

TEST_F(AuditFailClosed, ABlockedSinkGives503WithinTwoSecondsAndServiceResumesAfterwards) {
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("before")).status, 201);

  sink_->Block(true);
  auto started = std::chrono::steady_clock::now();
  HttpsResponse refused = admin.Request("POST", Path(), Body("during"));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_LT(took, std::chrono::seconds(2));
  HttpsResponse read = admin.Request("GET", Path("before"));
  EXPECT_EQ(read.status, 503) << "an audited read must not succeed unrecorded";
  HttpsResponse ready = admin.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  // Booleans only since issue 16's review: the reason is in the log.
  EXPECT_NE(ready.body.find(R"("audit":false)"), std::string::npos) << ready.body;

  sink_->Block(false);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = static_cast<int>(admin.Request("GET", "/readyz").status);
  }
  EXPECT_EQ(status, 200) << "readiness must come back without a restart";
  EXPECT_EQ(admin.Request("GET", Path("during")).status, 404) << "the refused write must not exist";
  EXPECT_EQ(admin.Request("POST", Path(), Body("after")).status, 201);
  EXPECT_EQ(admin.Request("GET", Path("before")).status, 200);

  // The refused create's record reached the file once the sink unblocked;
  // a not-committed record cancels it, and the log still verifies.
  server_.reset();
  ASSERT_TRUE(audit_->Close().ok());
  audit::VerifyOptions verify;
  verify.public_key_pem = public_key_pem_;
  verify.require_sealed = true;
  audit::VerifyReport report = audit::VerifyDirectory(dir_.Join("audit"), verify);
  EXPECT_TRUE(report.ok) << report.Summary();
  audit::EventFilter filter;
  filter.limit = 1000;
  auto page = audit::QueryEvents(dir_.Join("audit"), filter);
  ASSERT_OK(page);
  std::uint64_t during_seq = 0;
  bool cancelled = false;
  for (const std::string& line : page->records) {
    auto record = audit::ParseLine(line);
    ASSERT_OK(record);
    if (record->type == audit::RecordType::kEvent &&
        record->action == "secret.securevalues:create" &&
        line.find("\"during\"") != std::string::npos && record->outcome == "allowed") {
      during_seq = record->seq;
    }
    if (record->type == audit::RecordType::kNotCommitted && record->refers_to == during_seq &&
        during_seq != 0) {
      cancelled = true;
    }
  }
  if (during_seq != 0) {
    EXPECT_TRUE(cancelled) << "the uncommitted create has no not-committed record";
  }
}

TEST_F(AuditFailClosed, DecryptsAnsweredOnlyOnceRecordedAndA503WithinTwoSecondsWhenBlocked) {
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("sec")).status, 201);
  const std::string decrypt = Path("sec") + "/decrypt";
  // Concurrent decrypts share group commits; every one is answered 200.
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      HttpsClient client = Service();
      for (int i = 0; i < 25; ++i) {
        HttpsResponse r = client.Request("POST", decrypt);
        if (r.status == 200 && r.body.find("\"v-123\"") != std::string::npos) ++ok;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(ok.load(), 200);

  HttpsClient service = Service();
  sink_->Block(true);
  auto started = std::chrono::steady_clock::now();
  HttpsResponse refused = service.Request("POST", decrypt);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.body.find("v-123"), std::string::npos) << "a value left unrecorded";
  EXPECT_LT(took, std::chrono::seconds(2));
  const std::string refused_id = refused.headers["x-request-id"];
  sink_->Block(false);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = static_cast<int>(service.Request("POST", decrypt).status);
  }
  EXPECT_EQ(status, 200) << "decrypts resume without a restart";

  server_.reset();
  ASSERT_TRUE(audit_->Close().ok());
  audit::EventFilter filter;
  filter.limit = 1000;
  filter.action = "secret.securevalues:decrypt";
  auto page = audit::QueryEvents(dir_.Join("audit"), filter);
  ASSERT_OK(page);
  int allowed = 0;
  std::uint64_t refused_seq = 0;
  bool refused_cancelled = false;
  for (const std::string& line : page->records) {
    auto record = audit::ParseLine(line);
    ASSERT_OK(record);
    if (line.find(refused_id) != std::string::npos) {
      if (record->type == audit::RecordType::kEvent && record->outcome == "allowed") {
        refused_seq = record->seq;
      }
      if (record->type == audit::RecordType::kNotCommitted && record->refers_to == refused_seq) {
        refused_cancelled = true;
      }
    } else if (record->type == audit::RecordType::kEvent && record->outcome == "allowed") {
      ++allowed;
    }
  }
  if (refused_seq != 0) {
    EXPECT_TRUE(refused_cancelled) << "the refused decrypt is recorded as allowed, uncancelled";
  }
  EXPECT_GE(allowed, 201) << "every decrypt answered 200 has its record";
}

TEST_F(AuditFailClosed, NothingHangsWhenTheSinkStaysBlockedAtShutdown) {
  HttpsClient admin = Admin();
  sink_->Block(true);
  EXPECT_EQ(admin.Request("POST", Path(), Body("stuck")).status, 503);
  auto started = std::chrono::steady_clock::now();
  server_.reset();
  Status closed = audit_->Close();
  EXPECT_FALSE(closed.ok()) << "a stuck sink cannot have written the final checkpoint";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

}  // namespace
}  // namespace strongroom

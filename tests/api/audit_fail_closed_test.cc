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

#include "api/api.h"
#include "audit/audit.h"
#include "crypto/crypto.h"
#include "tests/audit/blocking_sink.h"
#include "tests/crypto/token_options.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_token.h"

namespace strongroom {
namespace {

using testing_support::HttpsClient;
using testing_support::HttpsResponse;

constexpr char kPassword[] = "fail-closed-admin-password";

using testing_support::BlockingSink;

class AuditFailClosed : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = crypto::Token::Open(crypto::TokenOptionsFor(test_token_));
    ASSERT_TRUE(token.has_value()) << token.error();
    token_ = std::move(*token);
    storage::StoreOptions store_options;
    store_options.data_dir = dir_.path();
    store_options.map_size_bytes = 64u << 20;
    auto store = storage::Store::Open(store_options);
    ASSERT_TRUE(store.has_value()) << store.error();
    store_ = std::move(*store);
    ASSERT_TRUE(crypto::Keyring::Initialize(*token_, *store_).has_value());
    auto keyring = crypto::Keyring::Open(*token_, *store_);
    ASSERT_TRUE(keyring.has_value()) << keyring.error();
    keyring_ = std::move(*keyring);
    OpenAudit();
    auto password = SecretBytes::CopyFrom(std::string_view(kPassword));
    ASSERT_TRUE(password.has_value());
    ASSERT_TRUE(api::CreateUser(*store_, {"admin", "Admin", "", &*password, true}, *Clock::Real())
                    .has_value());
    ASSERT_TRUE(testing_support::WriteFileBytes(
        policy_dir_.Join("decrypt.json"),
        R"({"bindings": [{"service": "svc", "role": "Decrypter", "namespace": "default"}]})"));
    StartServer();
    service_cert_ = pki_.IssueClient("svc", {.common_name = "svc"});
  }

  void TearDown() override {
    if (sink_ != nullptr) sink_->Block(false);
    server_.reset();
    audit_.reset();
    keyring_.reset();
    store_.reset();
    token_.reset();
  }

  void OpenAudit() {
    auto key = crypto::GetAuditPublicKey(*token_);
    ASSERT_TRUE(key.has_value()) << key.error();
    public_key_pem_ = key->pem;
    crypto::Token* token = token_.get();
    auto signer = audit::NewCheckpointSigner(
        key->pem, key->fingerprint_sha256,
        [token](ByteSpan m) { return crypto::SignWithAuditKey(*token, m); });
    auto sink = std::make_unique<BlockingSink>(audit::NewFileSink());
    sink_ = sink.get();
    audit::AuditLogOptions options;
    options.dir = dir_.Join("audit");
    auto log = audit::AuditLog::Open(options, std::move(signer), audit::StoreStateOf(*store_),
                                     std::move(sink), *Clock::Real());
    ASSERT_TRUE(log.has_value()) << log.error();
    audit_ = std::move(*log);
    audit_->AttachTo(*store_);
  }

  void StartServer() {
    testing_support::IssuedCertificate cert = pki_.IssueServer();
    api::ApiOptions options;
    options.server.port = 0;
    options.tls.certificate_path = cert.cert_path;
    options.tls.private_key_path = cert.key_path;
    options.tls.client_ca_path = pki_.ca_cert_path();
    options.policy_dir = policy_dir_.path();
    auto server =
        api::ApiServer::Start(options, *token_, *audit_, *store_, *keyring_, *Clock::Real());
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(*server);
  }

  // Service is a client presenting the certificate of the service "svc"
  // (issued in SetUp: TestPki is not thread-safe). Thread-safe.
  HttpsClient Service() {
    HttpsClient client("https://127.0.0.1:" + std::to_string(server_->port()), pki_.ca_cert_path());
    client.SetClientCertificate(service_cert_.cert_path, service_cert_.key_path);
    return client;
  }

  HttpsClient Admin() {
    HttpsClient client("https://127.0.0.1:" + std::to_string(server_->port()), pki_.ca_cert_path());
    client.SetBasicAuth("admin", kPassword);
    return client;
  }

  static std::string Path(const std::string& name = "") {
    std::string path = "/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues";
    return name.empty() ? path : path + "/" + name;
  }

  static std::string Body(const std::string& name) {
    return R"({"metadata":{"name":")" + name +
           R"("},"spec":{"description":"d","value":"v-123","decrypters":["svc"]}})";
  }

  testing_support::TestToken test_token_;
  testing_support::TempDir dir_, pki_dir_, policy_dir_;
  testing_support::TestPki pki_{pki_dir_.path()};
  std::unique_ptr<crypto::Token> token_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  BlockingSink* sink_ = nullptr;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<api::ApiServer> server_;
  std::string public_key_pem_;
  testing_support::IssuedCertificate service_cert_;
};

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
  EXPECT_NE(ready.body.find("audit"), std::string::npos) << ready.body;

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
  ASSERT_TRUE(page.has_value()) << page.error();
  std::uint64_t during_seq = 0;
  bool cancelled = false;
  for (const std::string& line : page->records) {
    auto record = audit::ParseLine(line);
    ASSERT_TRUE(record.has_value());
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
  ASSERT_TRUE(page.has_value()) << page.error();
  int allowed = 0;
  std::uint64_t refused_seq = 0;
  bool refused_cancelled = false;
  for (const std::string& line : page->records) {
    auto record = audit::ParseLine(line);
    ASSERT_TRUE(record.has_value());
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

// tests/api/in_process_server.h — the real API server in this process, over
// real TLS, on a real SoftHSM token, LMDB store and audit log whose sink the
// test can block (tests/audit/blocking_sink.h). Used by the tests that need
// to reach inside: a blocked audit device, a restarted keyring.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "accounts/accounts.h"
#include "api/api.h"
#include "audit/audit.h"
#include "crypto/crypto.h"
#include "tests/audit/blocking_sink.h"
#include "tests/crypto/token_options.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom {

class InProcessServerTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "in-process-admin-password";

  void SetUp() override {
    auto token = crypto::Token::Open(crypto::TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
    service_ = std::make_unique<crypto::LocalTokenService>(*token_);
    storage::StoreOptions store_options;
    store_options.data_dir = dir_.path();
    store_options.map_size_bytes = 64u << 20;
    auto store = storage::Store::Open(store_options);
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(crypto::Keyring::Initialize(*service_, *store_));
    auto keyring = crypto::Keyring::Open(*service_, *store_);
    ASSERT_OK(keyring);
    keyring_ = std::move(*keyring);
    OpenAudit();
    auto password = SecretBytes::CopyFrom(std::string_view(kPassword));
    ASSERT_OK(password);
    ASSERT_TRUE(
        accounts::CreateUser(*store_, {"admin", "Admin", "", &*password, true}, *Clock::Real())
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
    service_.reset();
    token_.reset();
  }

  void OpenAudit() {
    auto key = crypto::GetAuditPublicKey(*token_);
    ASSERT_OK(key);
    public_key_pem_ = key->pem;
    crypto::TokenService* token = service_.get();
    auto signer = audit::NewCheckpointSigner(key->pem, key->fingerprint_sha256,
                                             [token](ByteSpan m) { return token->SignWithAuditKey(m); });
    auto sink = std::make_unique<testing_support::BlockingSink>(audit::NewFileSink());
    sink_ = sink.get();
    audit::AuditLogOptions options;
    options.dir = dir_.Join("audit");
    auto log = audit::AuditLog::Open(options, std::move(signer), audit::StoreStateOf(*store_),
                                     std::move(sink), *Clock::Real());
    ASSERT_OK(log);
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
        api::ApiServer::Start(options, *service_, *audit_, *store_, *keyring_, *server_clock_);
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  // Service is a client presenting the certificate of the service "svc"
  // (issued in SetUp: TestPki is not thread-safe). Thread-safe.
  testing_support::HttpsClient Service() {
    testing_support::HttpsClient client("https://127.0.0.1:" + std::to_string(server_->port()),
                                        pki_.ca_cert_path());
    client.SetClientCertificate(service_cert_.cert_path, service_cert_.key_path);
    return client;
  }

  testing_support::HttpsClient Admin() {
    testing_support::HttpsClient client("https://127.0.0.1:" + std::to_string(server_->port()),
                                        pki_.ca_cert_path());
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
  std::unique_ptr<crypto::LocalTokenService> service_;  // on token_
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  testing_support::BlockingSink* sink_ = nullptr;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<api::ApiServer> server_;
  std::string public_key_pem_;
  testing_support::IssuedCertificate service_cert_;
  // The server's clock: a fixture that moves time by hand points this at a
  // ManualClock in its constructor, before SetUp starts the server.
  const Clock* server_clock_ = Clock::Real();
};

}  // namespace strongroom

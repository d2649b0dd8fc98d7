// tests/audit/audit_fixture.h — what the audit tests share: a real SoftHSM
// token holding the audit key pair (checkpoints are signed in the token),
// a temporary data directory, opening a log there (or writing a whole
// log over rotated files), and reading its lines back the way an auditor
// would.
// Thread-safety: a fixture belongs to one test.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "tests/crypto/token_options.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"

namespace strongroom::testing_support {

class AuditFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = crypto::Token::Open(crypto::TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
    service_ = std::make_unique<crypto::LocalTokenService>(*token_);
    ASSERT_OK(crypto::EnsureAuditKeyPair(*token_));
    auto key = crypto::GetAuditPublicKey(*token_);
    ASSERT_OK(key);
    public_key_pem_ = key->pem;
    key_sha256_ = key->fingerprint_sha256;
  }

  void TearDown() override {
    service_.reset();
    token_.reset();
  }

  std::string LogDir() const { return dir_.Join("audit"); }
  std::string CurrentFile() const { return LogDir() + "/current.jsonl"; }

  audit::AuditLogOptions Options() const {
    audit::AuditLogOptions options;
    options.dir = LogDir();
    return options;
  }

  std::unique_ptr<audit::CheckpointSigner> Signer() {
    crypto::TokenService* token = service_.get();
    return audit::NewCheckpointSigner(public_key_pem_, key_sha256_, [token](ByteSpan message) {
      return token->SignWithAuditKey(message);
    });
  }

  // FixedState is a store that stays at resourceVersion `rv`.
  static audit::StoreStateSource FixedState(std::uint64_t rv, std::string digest = "") {
    return [rv, digest]() -> StatusOr<audit::StoreState> { return audit::StoreState{rv, digest}; };
  }

  StatusOr<std::unique_ptr<audit::AuditLog>> Open(
      audit::AuditLogOptions options, audit::StoreStateSource state = FixedState(0),
      std::unique_ptr<audit::AuditSink> sink = nullptr) {
    return audit::AuditLog::Open(std::move(options), Signer(), std::move(state), std::move(sink),
                                 *Clock::Real());
  }

  static audit::Event UserEvent(const std::string& action, const std::string& name = "alice") {
    audit::Event event;
    event.action = action;
    event.actor = audit::Actor{"user", name, "", "", "127.0.0.1"};
    event.resource = audit::Resource{"default", "securevalues", "db-password"};
    event.http_status = 200;
    event.reason = "ok";
    event.request_id = "req-" + action;
    return event;
  }

  // WriteRotatedLog opens a log whose files rotate every 5000 bytes (so the
  // events span several files), records `count` events made by `make(i)`,
  // runs `more` on the open log when given, and closes it. A failed step
  // is fatal: callers check HasFatalFailure() after it.
  void WriteRotatedLog(int count, const std::function<audit::Event(int)>& make,
                       const std::function<void(audit::AuditLog&)>& more = {}) {
    audit::AuditLogOptions options = Options();
    options.max_file_bytes = 5000;
    auto log = Open(options);
    ASSERT_OK(log);
    for (int i = 0; i < count; ++i) ASSERT_OK((*log)->Record(make(i))) << "event " << i;
    if (more) more(**log);
    ASSERT_OK((*log)->Close());
  }

  // Lines returns every complete line of the log, in chain order.
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    auto files = audit::OpenLogFiles(LogDir());
    if (!files.has_value()) {
      ADD_FAILURE() << files.error();
      return out;
    }
    for (const audit::LogFileSource& file : *files) {
      auto lines = audit::ReadLines(file);
      if (!lines.has_value()) {
        ADD_FAILURE() << lines.error();
        return out;
      }
      for (std::size_t i = 0; i < lines->lines.size(); ++i) out.emplace_back(lines->Line(i));
    }
    return out;
  }

  // Records parses Lines(); a line that does not parse fails the test.
  std::vector<audit::ParsedLine> Records() const {
    std::vector<audit::ParsedLine> out;
    for (const std::string& line : Lines()) {
      auto parsed = audit::ParseLine(line);
      if (!parsed.has_value()) {
        ADD_FAILURE() << parsed.error();
        continue;
      }
      out.push_back(*parsed);
    }
    return out;
  }

  // OtherPublicKeyPem is a fresh EC P-256 public key (not the token's).
  static std::string OtherPublicKeyPem() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    BIO* bio = BIO_new(BIO_s_mem());
    std::string pem;
    if (key != nullptr && bio != nullptr && PEM_write_bio_PUBKEY(bio, key) == 1) {
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<std::size_t>(size));
    }
    BIO_free(bio);
    EVP_PKEY_free(key);
    EXPECT_FALSE(pem.empty());
    return pem;
  }

  audit::VerifyReport VerifyLog(audit::VerifyOptions options = {}) const {
    options.public_key_pem = public_key_pem_;
    return audit::VerifyDirectory(LogDir(), options);
  }

  TestToken test_token_;
  TempDir dir_;
  std::unique_ptr<crypto::Token> token_;
  std::unique_ptr<crypto::LocalTokenService> service_;  // on token_
  std::string public_key_pem_, key_sha256_;
};

}  // namespace strongroom::testing_support

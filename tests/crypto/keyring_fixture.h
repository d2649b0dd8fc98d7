// tests/crypto/keyring_fixture.h — a real SoftHSM token plus a real LMDB
// store, initialised with Keyring::Initialize, for the keyring suites.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "crypto/keyring.h"
#include "storage/storage.h"
#include "tests/support/temp_dir.h"
#include "tests/crypto/token_options.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::crypto {

class KeyringFixture : public ::testing::Test {
 protected:
  explicit KeyringFixture(bool through_fault_module = false)
      : test_token_(testing_support::TestTokenOptions{.through_fault_module = through_fault_module}),
        clock_(TimePoint(std::chrono::seconds(1795478399))) {}  // 2026-11-23T23:59:59Z

  void SetUp() override {
    auto token = Token::Open(TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
    service_ = std::make_unique<LocalTokenService>(*token_);
    OpenStore();
    auto report = Keyring::Initialize(*service_, *store_, &clock_);
    ASSERT_OK(report);
    OpenKeyring();
  }

  void TearDown() override {
    keyring_.reset();
    store_.reset();
    service_.reset();
    token_.reset();
  }

  void OpenStore() {
    storage::StoreOptions so;
    so.data_dir = data_dir_.path();
    so.map_size_bytes = 64u << 20;
    auto store = storage::Store::Open(so);
    ASSERT_OK(store);
    store_ = std::move(*store);
  }

  // OpenKeyring (re)opens the keyring: a cold data-key cache.
  void OpenKeyring() {
    keyring_.reset();
    options_.clock = &clock_;
    auto keyring = Keyring::Open(*service_, *store_, options_);
    ASSERT_OK(keyring);
    keyring_ = std::move(*keyring);
  }

  std::string StoreFile() const { return data_dir_.Join("store/data.mdb"); }

  testing_support::TestToken test_token_;
  testing_support::TempDir data_dir_;
  ManualClock clock_;
  KeyringOptions options_;
  std::unique_ptr<Token> token_;
  std::unique_ptr<LocalTokenService> service_;  // on token_
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Keyring> keyring_;
};

}  // namespace strongroom::crypto

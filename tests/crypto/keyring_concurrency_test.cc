// 8 threads sealing and unsealing at once (also run under ThreadSanitizer).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/crypto/keyring_fixture.h"

namespace strongroom::crypto {
namespace {

class KeyringConcurrencyTest : public KeyringFixture {};

TEST_F(KeyringConcurrencyTest, EightThreadsEncryptAndDecryptWithoutErrors) {
  constexpr int kThreads = 8, kPerThread = 300;
  std::atomic<int> errors{0}, ok{0};
  std::atomic<bool> rotate_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string ns = "ns" + std::to_string(t % 3);
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::string value = "value of " + name;
        ValueBinding binding{ns, name, name, 1};
        auto sealed = keyring_->Seal(binding, AsBytes(value));
        if (!sealed.has_value()) {
          ++errors;
          continue;
        }
        auto opened = keyring_->Unseal(binding, sealed->envelope);
        if (opened.has_value() && opened->RevealSecretAsString() == value) ++ok;
        else ++errors;
      }
    });
  }
  // Rotations and a KEK rotation race with the traffic.
  threads.emplace_back([&] {
    for (int i = 0; i < 3; ++i) {
      if (!keyring_->RotateDataKeys().has_value()) ++errors;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!keyring_->RotateKek().has_value()) ++errors;
    rotate_done = true;
  });
  for (auto& th : threads) th.join();
  EXPECT_TRUE(rotate_done);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace strongroom::crypto

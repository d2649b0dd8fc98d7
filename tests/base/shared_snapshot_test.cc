// SharedSnapshot (base/shared_snapshot.h): lock-free reads of a value that
// is replaced as a whole. Labelled concurrency, so it also runs under TSan.
#include "base/shared_snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace strongroom {
namespace {

TEST(SharedSnapshot, GetSeesEachSetAndSnapshotsDoNotShareSlots) {
  SharedSnapshot<int> a, b;
  EXPECT_EQ(a.Get(), nullptr);
  a.Set(std::make_shared<const int>(1));
  b.Set(std::make_shared<const int>(2));
  EXPECT_EQ(*a.Get(), 1);
  EXPECT_EQ(*b.Get(), 2);
  EXPECT_EQ(*a.Get(), 1) << "reading b must not leave a's slot holding b";
  a.Set(std::make_shared<const int>(3));
  EXPECT_EQ(*a.Get(), 3);
  a.Set(nullptr);
  EXPECT_EQ(a.Get(), nullptr);
}

TEST(SharedSnapshot, AReplacedSnapshotIsNeverConfusedWithANewOneAtTheSameAddress) {
  for (int i = 0; i < 100; ++i) {
    auto first = std::make_unique<SharedSnapshot<int>>();
    first->Set(std::make_shared<const int>(i));
    ASSERT_EQ(*first->Get(), i);
    first.reset();
    auto second = std::make_unique<SharedSnapshot<int>>();  // often the same address
    EXPECT_EQ(second->Get(), nullptr);
  }
}

TEST(SharedSnapshot, ReadersOnOtherThreadsSeeEveryReplacementInOrder) {
  SharedSnapshot<int> snapshot;
  snapshot.Set(std::make_shared<const int>(0));
  constexpr int kLast = 2000;
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int seen = 0;
      while (seen < kLast) {
        std::shared_ptr<const int> value = snapshot.Get();
        if (value == nullptr || *value < seen) failed = true;
        if (value != nullptr) seen = *value;
        if (failed) return;
      }
    });
  }
  for (int i = 1; i <= kLast; ++i) snapshot.Set(std::make_shared<const int>(i));
  for (auto& reader : readers) reader.join();
  EXPECT_FALSE(failed.load()) << "a reader saw no value or went backwards";
  EXPECT_EQ(*snapshot.Get(), kLast);
}

}  // namespace
}  // namespace strongroom

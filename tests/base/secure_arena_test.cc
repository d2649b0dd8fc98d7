#include "base/secure_arena.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "tests/support/status_matchers.h"

namespace strongroom {
namespace {

TEST(SecureArena, AllocatesZeroedBlocksAndCoalescesOnFree) {
  SecureArenaOptions options;
  options.size_bytes = 256u << 10;
  options.allow_unlocked = true;
  auto arena = SecureArena::Create(options);
  ASSERT_OK(arena);
  SecureArena& a = **arena;
  EXPECT_EQ(a.capacity(), 256u << 10);
  // Fill the arena with small blocks until it refuses.
  std::vector<void*> blocks;
  while (void* p = a.Allocate(1000)) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(bytes[i], 0);
    std::memset(p, 0xAB, 1000);
    blocks.push_back(p);
  }
  EXPECT_EQ(blocks.size(), (256u << 10) / 1024);
  EXPECT_EQ(a.Allocate(1), nullptr);
  for (void* p : blocks) a.Free(p, 1000);
  EXPECT_EQ(a.bytes_in_use(), 0u);
  // After coalescing, a whole shard is one block again.
  void* big = a.Allocate(64u << 10);
  ASSERT_NE(big, nullptr);
  auto* bytes = static_cast<unsigned char*>(big);
  for (int i = 0; i < (64 << 10); ++i) ASSERT_EQ(bytes[i], 0) << "block was not wiped";
  a.Free(big, 64u << 10);
}

TEST(SecureArena, RejectsSizesOutsideBounds) {
  SecureArenaOptions options;
  options.size_bytes = 1024;
  EXPECT_EQ(SecureArena::Create(options).error().code(), StatusCode::kInvalidArgument);
}

// In a child process: limit RLIMIT_MEMLOCK to 64 KiB (and, as root, drop to
// an unprivileged uid so the limit applies), then ask for a 4 MiB arena.
int ChildCreatesArena(bool allow_unlocked) {
  pid_t pid = fork();
  if (pid == 0) {
    rlimit lim{64u << 10, 64u << 10};
    if (setrlimit(RLIMIT_MEMLOCK, &lim) != 0) _exit(10);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(11);
    SecureArenaOptions options;
    options.size_bytes = 4u << 20;
    options.allow_unlocked = allow_unlocked;
    auto arena = SecureArena::Create(options);
    if (!arena.has_value()) {
      bool named = arena.error().message().find("--allow-unlocked-memory") != std::string::npos;
      _exit(arena.error().code() == StatusCode::kFailedPrecondition && named ? 20 : 21);
    }
    _exit((*arena)->locked() ? 30 : 31);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SecureArena, RefusesToStartWhenMemoryCannotBeLocked) {
  EXPECT_EQ(ChildCreatesArena(/*allow_unlocked=*/false), 20);
}

TEST(SecureArena, AllowUnlockedStartsAndReportsUnlocked) {
  EXPECT_EQ(ChildCreatesArena(/*allow_unlocked=*/true), 31);
}

TEST(SecureArena, ProcessArenaCannotBeInstalledTwice) {
  ASSERT_NE(SecureArena::Process(), nullptr);  // installed by test_main
  SecureArenaOptions options;
  options.allow_unlocked = true;
  EXPECT_EQ(SecureArena::InstallProcessArena(options).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace strongroom

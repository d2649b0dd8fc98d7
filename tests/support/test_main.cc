// The main() of every Strongroom test binary: installs the process secure
// arena (unlocked allowed, so tests run under any RLIMIT_MEMLOCK), then runs
// the tests.
#include <gtest/gtest.h>

#include <cstdio>

#include "base/secure_arena.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  strongroom::SecureArenaOptions options;
  options.size_bytes = 16u << 20;
  options.allow_unlocked = true;
  strongroom::Status status = strongroom::SecureArena::InstallProcessArena(options);
  if (!status.ok()) {
    std::fprintf(stderr, "cannot install the secure arena: %s\n", status.ToString().c_str());
    return 2;
  }
  return RUN_ALL_TESTS();
}

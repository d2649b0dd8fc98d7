// bench/bench_support.h — a throw-away SoftHSMv2 token for benchmarks, in a
// private temporary directory (its own SOFTHSM2_CONF, never the system token
// directory), removed with the object. Not thread-safe to create (setenv).
#pragma once

#include <memory>
#include <string>

#include "crypto/token.h"

namespace strongroom::bench {

struct BenchTokenDir {
  std::string dir;
  std::unique_ptr<crypto::Token> token;

  // Create makes and opens the token; nullptr (with a message on stderr)
  // when softhsm2-util or the module fails.
  static std::unique_ptr<BenchTokenDir> Create(const std::string& label);
  ~BenchTokenDir();
};

// InstallBenchArena installs the process secure arena as the appliance
// does, allowing unlocked memory so benchmarks run under any
// RLIMIT_MEMLOCK (locking does not change the timing of resident pages);
// prints a note when memory is not locked. False (with a message) on error.
bool InstallBenchArena();

}  // namespace strongroom::bench

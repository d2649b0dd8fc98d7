// bench/bench_support.h — a throw-away SoftHSMv2 token for benchmarks, in a
// private temporary directory (its own SOFTHSM2_CONF, never the system token
// directory), removed with the object. Not thread-safe to create (setenv).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// RateReporter prints the usual console table and keeps each benchmark's
// items_per_second, so a subclass's Finalize can print summary lines that
// compare benchmarks of the same run. With repetitions a rate is the median,
// else the mean of the runs.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override;
  // Rate returns the rate of `function_name` run with `threads` threads, or
  // -1 when it did not run (or failed).
  double Rate(const std::string& function_name, int threads = 1) const;

 private:
  struct Collected {
    double median = -1;
    double sum = 0;
    int count = 0;
  };
  std::map<std::pair<std::string, int>, Collected> rates_;
};

}  // namespace strongroom::bench

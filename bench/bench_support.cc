#include "bench/bench_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/secure_arena.h"

namespace strongroom::bench {

std::unique_ptr<BenchTokenDir> BenchTokenDir::Create(const std::string& label) {
  auto t = std::make_unique<BenchTokenDir>();
  char pattern[] = "/tmp/strongroom-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return nullptr;
  t->dir = pattern;
  std::string conf = t->dir + "/softhsm2.conf";
  std::ofstream(conf) << "directories.tokendir = " << t->dir << "/tokens\n"
                      << "objectstore.backend = file\nlog.level = ERROR\n";
  ::mkdir((t->dir + "/tokens").c_str(), 0700);
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  std::string command = "softhsm2-util --init-token --free --label " + label +
                        " --pin 123456 --so-pin 654321 >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "bench: softhsm2-util cannot create a token\n");
    return nullptr;
  }
  std::string pin_file = t->dir + "/pin";
  std::ofstream(pin_file) << "123456";
  ::chmod(pin_file.c_str(), 0600);
  crypto::TokenOptions options;
  options.module = "/usr/lib/softhsm/libsofthsm2.so";
  options.token_uri = "pkcs11:token=" + label;
  options.pin_file = pin_file;
  auto token = crypto::Token::Open(options);
  if (!token.has_value()) {
    std::fprintf(stderr, "bench: %s\n", token.error().ToString().c_str());
    return nullptr;
  }
  t->token = std::move(*token);
  return t;
}

BenchTokenDir::~BenchTokenDir() {
  token.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

bool InstallBenchArena() {
  SecureArenaOptions options;
  options.allow_unlocked = true;
  Status status = SecureArena::InstallProcessArena(options);
  if (!status.ok()) {
    std::fprintf(stderr, "cannot install the secure arena: %s\n", status.ToString().c_str());
    return false;
  }
  if (!SecureArena::Process()->locked()) {
    std::fprintf(stderr, "note: secure arena is not locked (RLIMIT_MEMLOCK)\n");
  }
  return true;
}

void RateReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    auto it = run.counters.find("items_per_second");
    if (it == run.counters.end()) continue;
    Collected& rate = rates_[{run.run_name.function_name, static_cast<int>(run.threads)}];
    if (run.run_type == Run::RT_Aggregate) {
      if (run.aggregate_name == "median") rate.median = it->second.value;
    } else {
      rate.sum += it->second.value;
      ++rate.count;
    }
  }
  ConsoleReporter::ReportRuns(runs);
}

double RateReporter::Rate(const std::string& function_name, int threads) const {
  auto it = rates_.find({function_name, threads});
  if (it == rates_.end()) return -1;
  const Collected& rate = it->second;
  return rate.median >= 0 ? rate.median : rate.count > 0 ? rate.sum / rate.count : -1;
}

}  // namespace strongroom::bench

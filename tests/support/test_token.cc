#include "tests/support/test_token.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <p11-kit/uri.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>
#include <vector>

#include "tests/support/fault_module.h"

extern char** environ;

namespace strongroom::testing_support {
namespace {

constexpr std::size_t kMaxLabel = 32;  // CK_TOKEN_INFO.label

// Fail reports why the token could not be made and stops the test binary
// (see the constructor's contract), removing `dir` first if it is given:
// abort skips the destructors that would.
[[noreturn]] void Fail(const std::string& what, const std::string& dir = "") {
  if (!dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  ADD_FAILURE() << "TestToken: " << what;
  std::fprintf(stderr, "TestToken: %s\n", what.c_str());
  std::fflush(nullptr);
  std::abort();
}

// RandomPin returns 16 random hex digits (64 bits): the PINs of a throwaway
// token only need to differ between tokens, so std::random_device suffices.
std::string RandomPin() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string pin;
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = random();
    for (int j = 0; j < 4; ++j, word >>= 4) pin.push_back(kHex[word & 0xf]);
  }
  return pin;
}

void SetEnv(const char* name, const std::string& value) {
  if (::setenv(name, value.c_str(), /*overwrite=*/1) != 0) Fail(std::string("setenv ") + name + " failed");
}

// RunTool runs argv[0] (searched in PATH) with the current environment,
// stdin from /dev/null and stdout+stderr into `log_path`. Returns "" on exit
// status 0, else a description followed by the tool's output.
// Arguments may hold PINs: acceptable for a throwaway test token only.
std::string RunTool(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  int spawn_error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return "cannot run " + args[0] + ": " + std::strerror(spawn_error);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid for " + args[0] + " failed: " + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return args[0] + " " + how + "; its output:\n" + ReadFileBytes(log_path);
}

// FormatTokenUri returns "pkcs11:token=<label>", escaped by p11-kit.
std::string FormatTokenUri(const std::string& label) {
  P11KitUri* uri = p11_kit_uri_new();
  if (uri == nullptr) Fail("p11_kit_uri_new failed");
  CK_TOKEN_INFO* info = p11_kit_uri_get_token_info(uri);
  std::memset(info->label, ' ', sizeof(info->label));
  std::memcpy(info->label, label.data(), label.size());
  char* formatted = nullptr;
  int result = p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &formatted);
  p11_kit_uri_free(uri);
  if (result != P11_KIT_URI_OK || formatted == nullptr) Fail("cannot format a PKCS#11 URI for " + label);
  std::string text = formatted;
  std::free(formatted);
  return text;
}

}  // namespace

const std::string& SoftHsmModulePath() {
  static const std::string path = "/usr/lib/softhsm/libsofthsm2.so";
  return path;
}

TestToken::TestToken(TestTokenOptions options)
    : label_(std::move(options.label)),
      through_fault_module_(options.through_fault_module),
      module_path_(through_fault_module_ ? FaultModulePath() : SoftHsmModulePath()),
      pin_(RandomPin()),
      so_pin_(RandomPin()) {
  if (label_.empty() || label_.size() > kMaxLabel) {
    Fail("label must be 1 to 32 bytes: \"" + label_ + "\"", dir());
  }
  const std::string tokens = dir_.Join("tokens");
  if (::mkdir(tokens.c_str(), 0700) != 0) Fail("cannot create " + tokens + ": " + std::strerror(errno), dir());
  // slots.removable = false: SoftHSM's own removable-slot emulation stays
  // off; removal is the fault module's job, on demand.
  const std::string conf =
      "# Written by strongroom's TestToken for one test; removed with it.\n"
      "directories.tokendir = " + tokens + "\n"
      "objectstore.backend = file\n"
      "log.level = ERROR\n"
      "slots.removable = false\n";
  if (!WriteFileBytes(conf_path(), conf)) Fail("cannot write " + conf_path(), dir());
  if (!WriteFileBytes(pin_file(), pin_, 0600)) Fail("cannot write " + pin_file(), dir());

  SetEnv("SOFTHSM2_CONF", conf_path());
  if (through_fault_module_) {
    SetEnv("SR_FAULT_PKCS11_TARGET", SoftHsmModulePath());
    // p11-kit never unloads a module, so an earlier test in this process may
    // have left the fault module loaded with a fault armed: start clean.
    if (StatusOr<FaultModule> fault = FaultModule::Attach(); fault.has_value()) fault->Reset();
  }

  std::string error = RunTool({"softhsm2-util", "--init-token", "--free", "--label", label_, "--pin", pin_,
                               "--so-pin", so_pin_},
                              dir_.Join("softhsm2-util.log"));
  if (!error.empty()) Fail("cannot initialise the token \"" + label_ + "\": " + error, dir());
  token_uri_ = FormatTokenUri(label_);
}

TestToken::~TestToken() = default;

}  // namespace strongroom::testing_support

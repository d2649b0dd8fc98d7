// tests/support/test_token.h — a fresh SoftHSMv2 token in a private
// temporary directory, for one test.
//
// TestToken writes its own softhsm2.conf (file object store, token directory
// inside its temp dir), points SOFTHSM2_CONF at it, and initialises one token
// with softhsm2-util. SECURITY: it never touches the system token directory.
// The code under test then loads module_path() with p11-kit
// (p11_kit_module_load + p11_kit_module_initialize) and finds the token by
// token_uri() or label(), logging in with the PIN from pin_file().
//
// Order (SoftHSM reads SOFTHSM2_CONF in C_Initialize):
//   1. construct the TestToken;
//   2. load and initialise the module;
//   3. finalise (and release) the module before the TestToken is destroyed.
//
// Several TestTokens in sequence in one process work (measured with SoftHSM
// 2.6.1 and p11-kit 0.24.1 by tests/support_selftest/fault_module_test.cc,
// TestToken.TwoTokensInSequence*): finalise the module, make the next
// TestToken, initialise the module again. What happens underneath:
//   - p11_kit_module_release never unloads a module (it only drops
//     p11-kit's reference; libsofthsm2.so and libsr_fault_pkcs11.so stay
//     mapped until exit), so a later p11_kit_module_load of the same path
//     gets the same, already loaded SoftHSM. The fault module's dlopen of
//     SoftHSM also shares that one copy.
//   - SoftHSM's C_Finalize tears down its state and its next C_Initialize
//     re-reads SOFTHSM2_CONF, so the new token is visible with its own PINs
//     and the previous one is gone. This holds directly and through the fault
//     module, with or without releasing in between, and alternating the two.
// Not supported: two TestTokens alive and used at once (SOFTHSM2_CONF names
// only the one made last, and only C_Initialize reads it), or the direct and
// the fault route initialised at the same time (they drive one SoftHSM).
// Because the fault module is never unloaded, its faults and call counts
// would outlive a test; a TestToken with through_fault_module therefore
// resets them (FaultModule::Reset) if the module is already loaded.
//
// Thread-safety: construction changes the process environment (setenv), so
// it must not run while other threads may read it (make the TestToken before
// starting threads). The accessors are const and safe from any thread.
#pragma once

#include <string>

#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {

// SoftHsmModulePath returns the SoftHSMv2 PKCS#11 module's path
// (/usr/lib/softhsm/libsofthsm2.so on Debian).
const std::string& SoftHsmModulePath();

struct TestTokenOptions {
  // label is the token label: at most 32 bytes. Default "strongroom-test".
  std::string label = "strongroom-test";
  // through_fault_module makes module_path() the fault-injecting module
  // (tests/support/fault_pkcs11/), with SR_FAULT_PKCS11_TARGET set to SoftHSM
  // so it forwards there; drive it with FaultModule (fault_module.h).
  // Default false: module_path() is SoftHSM itself.
  bool through_fault_module = false;
};

class TestToken {
 public:
  // TestToken creates the directory, the configuration, the PIN file and the
  // token. If anything fails (softhsm2-util exits non-zero, a file cannot be
  // written) it records a test failure with the reason and the tool's output
  // and aborts the test binary: no test runs against a half-made token.
  explicit TestToken(TestTokenOptions options = {});
  // ~TestToken removes the directory and everything in it. SOFTHSM2_CONF is
  // left naming the removed file, so a module initialised afterwards fails
  // C_Initialize instead of falling back to the system token directory.
  // REQUIRES: the module using this token is finalised.
  ~TestToken();
  TestToken(const TestToken&) = delete;
  TestToken& operator=(const TestToken&) = delete;

  // dir is the private directory (mode 0700) holding everything below.
  const std::string& dir() const { return dir_.path(); }
  // conf_path is <dir>/softhsm2.conf, the value of SOFTHSM2_CONF.
  std::string conf_path() const { return dir_.Join("softhsm2.conf"); }
  // module_path is the absolute path to load with p11_kit_module_load:
  // SoftHSM, or the fault module if through_fault_module was set.
  const std::string& module_path() const { return module_path_; }
  // token_uri is an RFC 7512 URI naming the token, "pkcs11:token=<label>"
  // (formatted by p11-kit, so a label needing escapes is escaped).
  const std::string& token_uri() const { return token_uri_; }
  // pin_file is <dir>/pin: the user PIN without a newline, mode 0600, owned
  // by the current user (what crypto/pin_file.h accepts).
  std::string pin_file() const { return dir_.Join("pin"); }
  // pin is the user PIN; so_pin the security officer PIN. Random per token.
  const std::string& pin() const { return pin_; }
  const std::string& so_pin() const { return so_pin_; }
  // label is the token label (TestTokenOptions::label).
  const std::string& label() const { return label_; }
  bool through_fault_module() const { return through_fault_module_; }

 private:
  TempDir dir_;
  std::string label_;
  bool through_fault_module_;
  std::string module_path_;
  std::string pin_;
  std::string so_pin_;
  std::string token_uri_;
};

}  // namespace strongroom::testing_support

// Self-tests of TestToken (tests/support/test_token.h) and of the
// fault-injecting PKCS#11 module (tests/support/fault_pkcs11/), driven with
// raw PKCS#11 calls through p11-kit, as crypto/ loads modules.
#include <dlfcn.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fault_module.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"
#include "tests/support/status_matchers.h"

namespace strongroom::testing_support {
namespace {

using ::testing::HasSubstr;

// LoadedModule is one p11-kit load of a module, initialised; it is finalised
// and released when destroyed. Declare it after the TestToken it uses, so
// that it goes first.
class LoadedModule {
 public:
  explicit LoadedModule(const std::string& path) : functions_(p11_kit_module_load(path.c_str(), 0)) {
    init_rv_ = functions_ == nullptr ? CKR_GENERAL_ERROR : p11_kit_module_initialize(functions_);
    initialized_ = init_rv_ == CKR_OK;
  }
  ~LoadedModule() {
    Finalize();
    if (functions_ != nullptr) p11_kit_module_release(functions_);
  }
  LoadedModule(const LoadedModule&) = delete;
  LoadedModule& operator=(const LoadedModule&) = delete;

  // init_rv is the result of the load and initialisation.
  CK_RV init_rv() const { return init_rv_; }
  CK_FUNCTION_LIST* operator->() const { return functions_; }

  CK_RV Finalize() {
    if (!initialized_) return CKR_CRYPTOKI_NOT_INITIALIZED;
    initialized_ = false;
    return p11_kit_module_finalize(functions_);
  }
  CK_RV Reinitialize() {
    CK_RV rv = p11_kit_module_initialize(functions_);
    initialized_ = rv == CKR_OK;
    return rv;
  }

 private:
  CK_FUNCTION_LIST* functions_;
  CK_RV init_rv_ = CKR_OK;
  bool initialized_ = false;
};

// SlotsWithToken returns the slots C_GetSlotList(TRUE) reports.
std::vector<CK_SLOT_ID> SlotsWithToken(const LoadedModule& module, CK_RV* rv) {
  CK_ULONG n = 0;
  *rv = module->C_GetSlotList(CK_TRUE, nullptr, &n);
  std::vector<CK_SLOT_ID> slots(n);
  if (*rv == CKR_OK && n > 0) *rv = module->C_GetSlotList(CK_TRUE, slots.data(), &n);
  slots.resize(*rv == CKR_OK ? n : 0);
  return slots;
}

// FindSlot returns true and the slot holding the token `token_uri` names
// (matched by p11-kit, as the product matches it).
bool FindSlot(const LoadedModule& module, const std::string& token_uri, CK_SLOT_ID* found) {
  P11KitUri* uri = p11_kit_uri_new();
  EXPECT_EQ(p11_kit_uri_parse(token_uri.c_str(), P11_KIT_URI_FOR_TOKEN, uri), P11_KIT_URI_OK) << token_uri;
  bool matched = false;
  CK_RV rv = CKR_OK;
  for (CK_SLOT_ID slot : SlotsWithToken(module, &rv)) {
    CK_TOKEN_INFO info{};
    if (module->C_GetTokenInfo(slot, &info) == CKR_OK && p11_kit_uri_match_token_info(uri, &info) == 1) {
      *found = slot;
      matched = true;
      break;
    }
  }
  p11_kit_uri_free(uri);
  return matched;
}

// OpenUserSession opens a read-write session on the token's slot and logs
// in as the user (fatal test failures if it cannot).
void OpenUserSession(const LoadedModule& module, const TestToken& token, CK_SESSION_HANDLE* session) {
  CK_SLOT_ID slot = 0;
  ASSERT_TRUE(FindSlot(module, token.token_uri(), &slot)) << token.token_uri();
  ASSERT_EQ(module->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, session), CKR_OK);
  std::string pin = ReadFileBytes(token.pin_file());
  ASSERT_EQ(pin, token.pin());
  ASSERT_EQ(module->C_Login(*session, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size()), CKR_OK);
}

CK_RV GenerateRandom(const LoadedModule& module, CK_SESSION_HANDLE session) {
  std::array<CK_BYTE, 16> bytes{};
  return module->C_GenerateRandom(session, bytes.data(), bytes.size());
}

// AttachFault attaches to the fault module the test has loaded.
FaultModule AttachFault() {
  StatusOr<FaultModule> fault = FaultModule::Attach();
  if (!fault.has_value()) {
    ADD_FAILURE() << fault.error();
    std::abort();
  }
  return std::move(*fault);
}

TEST(TestToken, WritesAPrivateConfigurationAndPinFile) {
  TestToken token;
  EXPECT_EQ(token.label(), "strongroom-test");
  EXPECT_EQ(token.token_uri(), "pkcs11:token=strongroom-test");
  EXPECT_EQ(token.module_path(), SoftHsmModulePath());
  const char* conf_env = std::getenv("SOFTHSM2_CONF");
  ASSERT_NE(conf_env, nullptr);
  EXPECT_EQ(conf_env, token.conf_path());
  std::string conf = ReadFileBytes(token.conf_path());
  EXPECT_THAT(conf, HasSubstr("directories.tokendir = " + token.dir() + "/tokens\n"));
  EXPECT_THAT(conf, HasSubstr("objectstore.backend = file\n"));
  struct stat st{};
  ASSERT_EQ(::stat(token.pin_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFileBytes(token.pin_file()), token.pin());
  EXPECT_NE(token.pin(), token.so_pin());
}

TEST(TestToken, RemovesItsDirectory) {
  std::string dir;
  {
    TestToken token;
    dir = token.dir();
    struct stat st{};
    ASSERT_EQ(::stat((dir + "/tokens").c_str(), &st), 0);
  }
  struct stat st{};
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
}

TEST(TestTokenDeathTest, StopsWithTheToolsOutputWhenSoftHsmUtilFails) {
  TempDir bin;
  ASSERT_TRUE(WriteFileBytes(bin.Join("softhsm2-util"), "#!/bin/sh\necho 'no such slot'\nexit 3\n", 0700));
  EXPECT_DEATH(
      {
        ::setenv("PATH", bin.path().c_str(), 1);
        TestToken token;
      },
      "softhsm2-util exited with status 3; its output:\nno such slot");
}

TEST(TestTokenDeathTest, RefusesALabelLongerThanATokenLabel) {
  EXPECT_DEATH(TestToken({.label = std::string(33, 'x')}), "label must be 1 to 32 bytes");
}

TEST(TestToken, ModuleInitialisedAfterTheTokenIsGoneFailsClosed) {
  { TestToken token; }
  // SOFTHSM2_CONF still names the removed configuration, never the system one.
  LoadedModule module(SoftHsmModulePath());
  EXPECT_EQ(module.init_rv(), CKR_GENERAL_ERROR);
}

TEST(TestToken, PlainTokenIsUsableDirectlyThroughSoftHsm) {
  TestToken token({.label = "plain-token"});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  EXPECT_EQ(module->C_Logout(session), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, AttachNeverLoadsTheModule) {
  // The built module may already be loaded by an earlier test in this
  // process (p11-kit never unloads one), so ask for a path never loaded.
  TempDir dir;
  StatusOr<FaultModule> fault = FaultModule::Attach(dir.Join("libsr_fault_pkcs11.so"));
  ASSERT_STATUS(fault, StatusCode::kFailedPrecondition);
}

TEST(FaultModule, ANewTokenStartsWithACleanFaultModule) {
  std::optional<FaultModule> fault;
  {
    TestToken first({.through_fault_module = true});
    LoadedModule module(first.module_path());
    ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
    fault.emplace(AttachFault());
    fault->SetFault(CKR_DEVICE_ERROR);
    fault->FailNext(CKR_SESSION_HANDLE_INVALID, 3);
    EXPECT_EQ(module.Finalize(), CKR_OK);
  }
  TestToken second({.through_fault_module = true});
  EXPECT_EQ(fault->Calls("C_Initialize"), 0u);
  LoadedModule module(second.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, second, &session);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, ForwardsToSoftHsmAndCountsCalls) {
  TestToken token({.through_fault_module = true});
  EXPECT_EQ(token.module_path(), FaultModulePath());
  const char* target = std::getenv("SR_FAULT_PKCS11_TARGET");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target, SoftHsmModulePath());
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  fault.ResetCounts();

  CK_INFO info{};
  ASSERT_EQ(module->C_GetInfo(&info), CKR_OK);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(info.manufacturerID), 7), "SoftHSM");
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);
  CK_SESSION_HANDLE second = 0;
  CK_SLOT_ID slot = 0;
  ASSERT_TRUE(FindSlot(module, token.token_uri(), &slot));
  ASSERT_EQ(module->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &second), CKR_OK);
  EXPECT_EQ(GenerateRandom(module, second), CKR_OK);

  EXPECT_EQ(fault.Calls("C_GetInfo"), 1u);
  EXPECT_EQ(fault.Calls("C_OpenSession"), 2u);
  EXPECT_EQ(fault.Calls("C_Login"), 1u);
  EXPECT_EQ(fault.Calls("C_GenerateRandom"), 1u);
  EXPECT_EQ(fault.Calls("C_UnwrapKey"), 0u);
  EXPECT_EQ(fault.Calls("C_Unwrapkey"), FaultModule::kUnknownFunction);
  fault.ResetCounts();
  EXPECT_EQ(fault.Calls("C_OpenSession"), 0u);

  EXPECT_EQ(module->C_CloseSession(second), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, DeviceRemovedFailsCallsAndHidesTheSlotUntilCleared) {
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);
  CK_SLOT_ID slot = 0;
  ASSERT_TRUE(FindSlot(module, token.token_uri(), &slot));

  fault.SetFault(CKR_DEVICE_REMOVED);
  EXPECT_EQ(GenerateRandom(module, session), CKR_DEVICE_REMOVED);
  CK_RV rv = CKR_OK;
  EXPECT_TRUE(SlotsWithToken(module, &rv).empty());
  EXPECT_EQ(rv, CKR_OK);
  CK_TOKEN_INFO token_info{};
  EXPECT_EQ(module->C_GetTokenInfo(slot, &token_info), CKR_DEVICE_REMOVED);
  CK_SESSION_HANDLE other = 0;
  EXPECT_EQ(module->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &other), CKR_DEVICE_REMOVED);
  CK_INFO info{};
  EXPECT_EQ(module->C_GetInfo(&info), CKR_OK);  // module calls still work

  fault.SetFault(CKR_DEVICE_ERROR);  // not a removal: C_GetSlotList fails too
  CK_ULONG n = 0;
  EXPECT_EQ(module->C_GetSlotList(CK_TRUE, nullptr, &n), CKR_DEVICE_ERROR);

  fault.ClearFault();
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);  // the session survived
  EXPECT_FALSE(SlotsWithToken(module, &rv).empty());
  EXPECT_EQ(rv, CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, RemovalSurvivesReinitialisationOfTheModule) {
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  fault.SetFault(CKR_TOKEN_NOT_PRESENT);
  ASSERT_EQ(module.Finalize(), CKR_OK);
  ASSERT_EQ(module.Reinitialize(), CKR_OK);
  CK_SLOT_ID slot = 0;
  EXPECT_FALSE(FindSlot(module, token.token_uri(), &slot));
  fault.ClearFault();
  EXPECT_TRUE(FindSlot(module, token.token_uri(), &slot));
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, FailNextFailsExactlyThatManySessionCalls) {
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);

  fault.FailNext(CKR_SESSION_HANDLE_INVALID, 2);
  // Slot calls neither fail nor use up the budget.
  CK_SLOT_ID slot = 0;
  ASSERT_TRUE(FindSlot(module, token.token_uri(), &slot));
  CK_SESSION_HANDLE second = 0;
  ASSERT_EQ(module->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &second), CKR_OK);

  EXPECT_EQ(GenerateRandom(module, session), CKR_SESSION_HANDLE_INVALID);
  CK_SESSION_INFO info{};
  EXPECT_EQ(module->C_GetSessionInfo(second, &info), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  EXPECT_EQ(module->C_GetSessionInfo(second, &info), CKR_OK);

  fault.FailNext(CKR_SESSION_HANDLE_INVALID, 5);
  fault.FailNext(CKR_SESSION_HANDLE_INVALID, 0);  // cancels
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);

  EXPECT_EQ(module->C_CloseSession(second), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, FailCallsOfFailsOnlyTheNamedFunctionThatManyTimes) {
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);

  ASSERT_OK(fault.FailCallsOf("C_GenerateRandom", CKR_FUNCTION_FAILED, 2));
  CK_SESSION_INFO info{};
  EXPECT_EQ(module->C_GetSessionInfo(session, &info), CKR_OK);  // another function
  EXPECT_EQ(GenerateRandom(module, session), CKR_FUNCTION_FAILED);
  EXPECT_EQ(GenerateRandom(module, session), CKR_FUNCTION_FAILED);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);

  // Independent of FailNext: each budget is used by its own calls only.
  fault.FailNext(CKR_SESSION_HANDLE_INVALID, 1);
  ASSERT_OK(fault.FailCallsOf("C_GenerateRandom", CKR_DEVICE_ERROR, 1));
  EXPECT_EQ(GenerateRandom(module, session), CKR_DEVICE_ERROR);
  EXPECT_EQ(module->C_GetSessionInfo(session, &info), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);

  // Reset cancels a pending budget; names that cannot be failed are refused.
  ASSERT_OK(fault.FailCallsOf("C_GenerateRandom", CKR_FUNCTION_FAILED, 5));
  fault.Reset();
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  EXPECT_EQ(fault.FailCallsOf("C_NoSuchFunction", CKR_FUNCTION_FAILED, 1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(fault.FailCallsOf("C_Initialize", CKR_FUNCTION_FAILED, 1).code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(FaultModule, ControlIsSafeWhileEightThreadsUseTheToken) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 200;
  constexpr unsigned long kBudget = 100;
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  FaultModule fault = AttachFault();
  CK_SESSION_HANDLE login_session = 0;
  OpenUserSession(module, token, &login_session);
  CK_SLOT_ID slot = 0;
  ASSERT_TRUE(FindSlot(module, token.token_uri(), &slot));
  std::vector<CK_SESSION_HANDLE> sessions(kThreads);
  for (CK_SESSION_HANDLE& session : sessions) {
    ASSERT_EQ(module->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), CKR_OK);
  }
  fault.ResetCounts();

  // Round 1: a budget shared by all threads fails exactly kBudget calls.
  // Round 2: the main thread arms and clears a removal while they run.
  for (int round = 1; round <= 2; ++round) {
    std::atomic<int> ok{0}, session_invalid{0}, removed{0}, other{0};
    std::atomic<bool> done{false};
    if (round == 1) fault.FailNext(CKR_SESSION_HANDLE_INVALID, kBudget);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCallsPerThread; ++i) {
          switch (GenerateRandom(module, sessions[t])) {
            case CKR_OK: ++ok; break;
            case CKR_SESSION_HANDLE_INVALID: ++session_invalid; break;
            case CKR_DEVICE_REMOVED: ++removed; break;
            default: ++other; break;
          }
        }
      });
    }
    std::thread toggler([&] {
      while (round == 2 && !done.load()) {
        fault.SetFault(CKR_DEVICE_REMOVED);
        std::this_thread::yield();
        fault.ClearFault();
        std::this_thread::yield();
      }
    });
    for (std::thread& thread : threads) thread.join();
    done = true;
    toggler.join();
    fault.ClearFault();

    EXPECT_EQ(ok + session_invalid + removed, kThreads * kCallsPerThread) << "round " << round;
    EXPECT_EQ(other, 0) << "round " << round;
    if (round == 1) {
      EXPECT_EQ(static_cast<unsigned long>(session_invalid.load()), kBudget);
      EXPECT_EQ(removed, 0);
    } else {
      EXPECT_EQ(session_invalid, 0);
    }
    EXPECT_EQ(fault.Calls("C_GenerateRandom"), static_cast<unsigned long>(round * kThreads * kCallsPerThread));
  }

  for (CK_SESSION_HANDLE session : sessions) EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(login_session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

// UseOneToken makes a token, proves it usable through a fresh load of its
// module, and checks that `absent_label` (an earlier token) is not visible.
void UseOneToken(bool through_fault_module, const std::string& label, const std::string& absent_label) {
  TestToken token({.label = label, .through_fault_module = through_fault_module});
  LoadedModule module(token.module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  CK_SLOT_ID slot = 0;
  EXPECT_FALSE(FindSlot(module, "pkcs11:token=" + absent_label, &slot));
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(TestToken, TwoTokensInSequenceWorkWhenTheModuleIsReleasedBetween) {
  UseOneToken(/*through_fault_module=*/false, "first", "none");
  UseOneToken(/*through_fault_module=*/false, "second", "first");
  UseOneToken(/*through_fault_module=*/true, "third", "second");
  UseOneToken(/*through_fault_module=*/true, "fourth", "third");
  UseOneToken(/*through_fault_module=*/false, "fifth", "fourth");
}

// The module stays loaded; only C_Finalize and C_Initialize separate the
// tokens, as when a long-lived component re-initialises its module.
void UseTokensWithoutReleasing(bool through_fault_module) {
  auto first = std::make_unique<TestToken>(TestTokenOptions{.label = "first", .through_fault_module = through_fault_module});
  LoadedModule module(first->module_path());
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, *first, &session);
  ASSERT_EQ(module.Finalize(), CKR_OK);
  first.reset();

  TestToken second({.label = "second", .through_fault_module = through_fault_module});
  ASSERT_EQ(module.Reinitialize(), CKR_OK);
  CK_SLOT_ID slot = 0;
  EXPECT_FALSE(FindSlot(module, "pkcs11:token=first", &slot));
  OpenUserSession(module, second, &session);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

TEST(TestToken, TwoTokensInSequenceWorkWhenSoftHsmIsOnlyReinitialised) { UseTokensWithoutReleasing(false); }

TEST(TestToken, TwoTokensInSequenceWorkWhenTheFaultModuleIsOnlyReinitialised) {
  UseTokensWithoutReleasing(true);
}

// The control page (SR_FAULT_PKCS11_CONTROL) is how a test drives the
// module inside another process; here it drives the one in this process.
// It is mapped at the module's first C_Initialize after load, so this test
// needs a process where the module was not loaded yet (CTest runs each test
// in its own process).
TEST(FaultModule, AControlPageArmsFaultsAndFailNextBudgetsFromOutside) {
  if (void* loaded = ::dlopen(FaultModulePath().c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    ::dlclose(loaded);
    GTEST_SKIP() << "the fault module is already loaded in this process; run this test alone";
  }
  TempDir dir;
  StatusOr<FaultControlFile> control = FaultControlFile::Create(dir.Join("control"));
  ASSERT_OK(control);
  ASSERT_EQ(::setenv("SR_FAULT_PKCS11_CONTROL", control->path().c_str(), 1), 0);
  TestToken token({.through_fault_module = true});
  LoadedModule module(token.module_path());
  ::unsetenv("SR_FAULT_PKCS11_CONTROL");
  ASSERT_EQ(module.init_rv(), CKR_OK) << p11_kit_message();
  CK_SESSION_HANDLE session = 0;
  OpenUserSession(module, token, &session);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);

  control->SetFault(CKR_DEVICE_ERROR);
  EXPECT_EQ(GenerateRandom(module, session), CKR_DEVICE_ERROR);
  control->SetFault(CKR_TOKEN_NOT_PRESENT);
  CK_ULONG slots = 99;
  EXPECT_EQ(module->C_GetSlotList(CK_TRUE, nullptr, &slots), CKR_OK);
  EXPECT_EQ(slots, 0u) << "an unplugged token shows no slot";
  control->ClearFault();
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK);

  control->FailNext(CKR_SESSION_HANDLE_INVALID, 2);
  EXPECT_EQ(GenerateRandom(module, session), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(GenerateRandom(module, session), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK) << "the budget is used up";
  EXPECT_EQ(GenerateRandom(module, session), CKR_OK) << "one request is applied once";
  EXPECT_EQ(module->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(module.Finalize(), CKR_OK);
}

}  // namespace
}  // namespace strongroom::testing_support

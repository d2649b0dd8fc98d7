// tests/support/fault_module.h — drives the fault-injecting PKCS#11 module
// (tests/support/fault_pkcs11/, contract in fault_control.h) once p11-kit or
// the code under test has loaded it into this process.
//
// Typical use, with a TestToken made with through_fault_module = true:
//   CK_FUNCTION_LIST* module = p11_kit_module_load(token.module_path().c_str(), 0);
//   ... p11_kit_module_initialize(module) ...
//   auto fault = FaultModule::Attach();
//   ASSERT_TRUE(fault.has_value()) << fault.error();
//   fault->SetFault(CKR_DEVICE_REMOVED);   // the token is gone
//   ...
//   fault->ClearFault();                   // it is back
//
// Thread-safety: a FaultModule may be used from any thread while other
// threads use the token; the module's control functions are thread-safe.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>

#include "base/status.h"
#include "tests/support/fault_pkcs11/fault_control.h"

namespace strongroom::testing_support {

// FaultModulePath returns the absolute path of the fault module this build
// made (libsr_fault_pkcs11.so in the build tree).
const std::string& FaultModulePath();

class FaultModule {
 public:
  // Attach finds the fault module at `path` among the objects already loaded
  // in this process (dlopen with RTLD_NOLOAD: it never loads a second copy)
  // and looks up its control functions.
  // Returns kFailedPrecondition if the module is not loaded (load the token's
  // module_path() first), kInternal if a control function is missing.
  // The FaultModule holds a dlopen reference to the module. (p11-kit 0.24
  // never unloads a module it loaded, even after p11_kit_module_release, so
  // in practice the module, its faults and its counts live as long as the
  // process; a TestToken routed through it calls Reset.)
  static StatusOr<FaultModule> Attach(const std::string& path = FaultModulePath());

  FaultModule(FaultModule&& other) noexcept;
  FaultModule& operator=(FaultModule&& other) noexcept;
  FaultModule(const FaultModule&) = delete;
  FaultModule& operator=(const FaultModule&) = delete;
  ~FaultModule();

  // SetFault arms a persistent fault (sr_fault_set): every slot and
  // session-bearing call returns `rv` until ClearFault. With
  // CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT, C_GetSlotList reports no
  // slots.
  void SetFault(CK_RV rv) const;
  // ClearFault disarms the persistent fault (SetFault(CKR_OK)).
  void ClearFault() const;
  // FailNext makes the next `count` session-bearing calls return `rv`
  // (sr_fault_fail_next); count 0 cancels.
  void FailNext(CK_RV rv, unsigned long count) const;
  // FailCallsOf makes the next `count` calls of `function` alone
  // ("C_DestroyObject") return `rv` (sr_fault_fail_calls_of); count 0
  // cancels. Returns kInvalidArgument for a name that is not a slot or
  // session-bearing PKCS#11 2.40 function.
  Status FailCallsOf(const std::string& function, CK_RV rv, unsigned long count) const;
  // Calls returns how many times `function` ("C_UnwrapKey") was called since
  // the module was loaded or ResetCounts; kUnknownFunction for a name that
  // is not a PKCS#11 2.40 function.
  unsigned long Calls(const std::string& function) const;
  static constexpr unsigned long kUnknownFunction = static_cast<unsigned long>(-1);
  // ResetCounts sets every call count to zero; armed faults are unchanged.
  void ResetCounts() const;
  // Reset disarms every fault (persistent and pending, shared and per
  // function) and zeroes the counts.
  void Reset() const;

 private:
  FaultModule() = default;

  void* handle_ = nullptr;  // owned: one dlopen reference
  sr_fault_set_fn set_ = nullptr;
  sr_fault_fail_next_fn fail_next_ = nullptr;
  sr_fault_fail_calls_of_fn fail_calls_of_ = nullptr;
  sr_fault_cancel_calls_of_fn cancel_calls_of_ = nullptr;
  sr_fault_calls_fn calls_ = nullptr;
  sr_fault_reset_counts_fn reset_counts_ = nullptr;
};

// FaultControlFile drives the fault module inside another process (the real
// server): it makes the shared control page that the module maps when the
// environment variable SR_FAULT_PKCS11_CONTROL names it (fault_control.h,
// "Cross-process control"). ServerProcess makes one for a server started
// through_fault_module and passes its path to the server.
// Thread-safety: every method may be called from any thread.
class FaultControlFile {
 public:
  // Create makes (or truncates) `path` as a zeroed control page, mode 0600,
  // and maps it. kInternal on an I/O error.
  static StatusOr<FaultControlFile> Create(const std::string& path);

  FaultControlFile(FaultControlFile&& other) noexcept;
  FaultControlFile& operator=(FaultControlFile&& other) noexcept;
  FaultControlFile(const FaultControlFile&) = delete;
  FaultControlFile& operator=(const FaultControlFile&) = delete;
  ~FaultControlFile();

  // SetFault arms a persistent fault in the other process, as
  // FaultModule::SetFault (CKR_DEVICE_REMOVED: the token is unplugged).
  void SetFault(CK_RV rv) const;
  void ClearFault() const { SetFault(CKR_OK); }
  // FailNext makes the other process's next `count` session-bearing calls
  // return `rv` (FaultModule::FailNext), e.g. CKR_SESSION_HANDLE_INVALID for
  // sessions lost; it takes effect at that process's next call.
  void FailNext(CK_RV rv, unsigned long count) const;
  const std::string& path() const { return path_; }

 private:
  FaultControlFile() = default;

  std::string path_;
  unsigned long* page_ = nullptr;  // owned mapping of SR_FAULT_CONTROL_SIZE bytes
};

}  // namespace strongroom::testing_support

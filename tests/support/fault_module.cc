#include "tests/support/fault_module.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <utility>

namespace strongroom::testing_support {
namespace {

// LookUp stores dlsym(handle, name) into `out`; false if it is missing.
template <typename Function>
bool LookUp(void* handle, const char* name, Function& out) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) return false;
  out = reinterpret_cast<Function>(symbol);
  return true;
}

}  // namespace

const std::string& FaultModulePath() {
  static const std::string path = SR_FAULT_PKCS11_PATH;
  return path;
}

StatusOr<FaultModule> FaultModule::Attach(const std::string& path) {
  FaultModule module;
  module.handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (module.handle_ == nullptr) {
    return std::unexpected(Status::FailedPrecondition(
        "fault module " + path + " is not loaded in this process; load the TestToken's module_path() first"));
  }
  if (!LookUp(module.handle_, "sr_fault_set", module.set_) ||
      !LookUp(module.handle_, "sr_fault_fail_next", module.fail_next_) ||
      !LookUp(module.handle_, "sr_fault_fail_calls_of", module.fail_calls_of_) ||
      !LookUp(module.handle_, "sr_fault_cancel_calls_of", module.cancel_calls_of_) ||
      !LookUp(module.handle_, "sr_fault_calls", module.calls_) ||
      !LookUp(module.handle_, "sr_fault_reset_counts", module.reset_counts_)) {
    return std::unexpected(Status::Internal(path + " lacks the sr_fault_* control functions"));
  }
  return module;
}

FaultModule::FaultModule(FaultModule&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      set_(other.set_),
      fail_next_(other.fail_next_),
      fail_calls_of_(other.fail_calls_of_),
      cancel_calls_of_(other.cancel_calls_of_),
      calls_(other.calls_),
      reset_counts_(other.reset_counts_) {}

FaultModule& FaultModule::operator=(FaultModule&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    set_ = other.set_;
    fail_next_ = other.fail_next_;
    fail_calls_of_ = other.fail_calls_of_;
    cancel_calls_of_ = other.cancel_calls_of_;
    calls_ = other.calls_;
    reset_counts_ = other.reset_counts_;
  }
  return *this;
}

FaultModule::~FaultModule() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

void FaultModule::SetFault(CK_RV rv) const { set_(rv); }

void FaultModule::ClearFault() const { set_(CKR_OK); }

void FaultModule::FailNext(CK_RV rv, unsigned long count) const { fail_next_(rv, count); }

Status FaultModule::FailCallsOf(const std::string& function, CK_RV rv, unsigned long count) const {
  if (fail_calls_of_(function.c_str(), rv, count) != 0) {
    return Status::InvalidArgument(function + " is not a PKCS#11 function the fault module can fail");
  }
  return Status::Ok();
}

unsigned long FaultModule::Calls(const std::string& function) const { return calls_(function.c_str()); }

void FaultModule::ResetCounts() const { reset_counts_(); }

void FaultModule::Reset() const {
  set_(CKR_OK);
  fail_next_(CKR_OK, 0);
  cancel_calls_of_();
  reset_counts_();
}

StatusOr<FaultControlFile> FaultControlFile::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(Status::Internal("open " + path + ": " + std::strerror(errno)));
  if (::ftruncate(fd, SR_FAULT_CONTROL_SIZE) != 0) {
    const int saved = errno;
    ::close(fd);
    return std::unexpected(Status::Internal("ftruncate " + path + ": " + std::strerror(saved)));
  }
  void* page = ::mmap(nullptr, SR_FAULT_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int saved = errno;
  ::close(fd);
  if (page == MAP_FAILED) return std::unexpected(Status::Internal("mmap " + path + ": " + std::strerror(saved)));
  FaultControlFile file;
  file.path_ = path;
  file.page_ = static_cast<unsigned long*>(page);
  return file;
}

FaultControlFile::FaultControlFile(FaultControlFile&& other) noexcept
    : path_(std::move(other.path_)), page_(std::exchange(other.page_, nullptr)) {}

FaultControlFile& FaultControlFile::operator=(FaultControlFile&& other) noexcept {
  if (this != &other) {
    if (page_ != nullptr) ::munmap(page_, SR_FAULT_CONTROL_SIZE);
    path_ = std::move(other.path_);
    page_ = std::exchange(other.page_, nullptr);
  }
  return *this;
}

FaultControlFile::~FaultControlFile() {
  if (page_ != nullptr) ::munmap(page_, SR_FAULT_CONTROL_SIZE);
}

void FaultControlFile::SetFault(CK_RV rv) const {
  __atomic_store_n(&page_[SR_FAULT_CONTROL_FAULT], rv, __ATOMIC_RELEASE);
}

void FaultControlFile::FailNext(CK_RV rv, unsigned long count) const {
  __atomic_store_n(&page_[SR_FAULT_CONTROL_NEXT_RV], rv, __ATOMIC_RELEASE);
  __atomic_store_n(&page_[SR_FAULT_CONTROL_NEXT_COUNT], count, __ATOMIC_RELEASE);
  __atomic_add_fetch(&page_[SR_FAULT_CONTROL_REQUEST], 1, __ATOMIC_RELEASE);
}

}  // namespace strongroom::testing_support

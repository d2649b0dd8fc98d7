#include "api/ops/token_readiness.h"

#include "api/core/log.h"

namespace strongroom::api {

bool TokenReadiness::Ready() {
  std::unique_lock lock(mutex_);
  const TimePoint now = clock_.Now();
  if (has_result_ && now >= probed_at_ && now - probed_at_ < max_age_) return ready_;
  if (probing_) {
    if (has_result_) return ready_;
    probed_.wait(lock, [this] { return !probing_; });
    return ready_;
  }
  probing_ = true;
  lock.unlock();
  // The probe runs unlocked, so callers meanwhile are answered at once.
  const Status probe = token_.Probe();
  lock.lock();
  const bool was_ready = !has_result_ || ready_;
  probing_ = false;
  has_result_ = true;
  ready_ = probe.ok();
  probed_at_ = clock_.Now();
  if (!ready_ && was_ready) {
    LogEvent(LogLevel::kError, "readiness: token unavailable", {{"reason", probe.ToString()}});
  } else if (ready_ && !was_ready) {
    LogEvent(LogLevel::kInfo, "readiness: token available again");
  }
  probed_.notify_all();
  return ready_;
}

}  // namespace strongroom::api

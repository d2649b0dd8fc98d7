#include "crypto/token_session_pool.h"

namespace strongroom::crypto {

TokenSessionPool::TokenSessionPool(std::size_t max_sessions,
                                   std::chrono::milliseconds acquire_timeout, OpenFn open,
                                   CloseFn close)
    : max_sessions_(max_sessions == 0 ? 1 : max_sessions),
      acquire_timeout_(acquire_timeout),
      open_fn_(std::move(open)),
      close_fn_(std::move(close)) {}

TokenSessionPool::~TokenSessionPool() {
  for (CK_SESSION_HANDLE h : DropAll()) close_fn_(h);
}

StatusOr<TokenSessionPool::Lease> TokenSessionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
  for (;;) {
    if (!idle_.empty()) {
      Lease lease{idle_.back(), epoch_};
      idle_.pop_back();
      return lease;
    }
    if (open_ < max_sessions_) {
      ++open_;
      std::uint64_t epoch = epoch_;
      lock.unlock();
      StatusOr<CK_SESSION_HANDLE> opened = open_fn_();
      lock.lock();
      if (!opened.has_value()) {
        --open_;
        available_.notify_one();
        return std::unexpected(opened.error());
      }
      return Lease{*opened, epoch};
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= max_sessions_) {
      return std::unexpected(Status::Unavailable("all token sessions are busy"));
    }
  }
}

void TokenSessionPool::Release(const Lease& lease) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lease.epoch != epoch_) {
    // Opened before the token was lost; the handle is dead.
    --open_;
  } else {
    idle_.push_back(lease.handle);
  }
  available_.notify_one();
}

void TokenSessionPool::Discard(const Lease&) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_;
  available_.notify_one();
}

std::vector<CK_SESSION_HANDLE> TokenSessionPool::DropAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<CK_SESSION_HANDLE> dropped;
  dropped.swap(idle_);
  open_ -= dropped.size();
  ++epoch_;
  available_.notify_all();
  return dropped;
}

std::size_t TokenSessionPool::open_sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

std::uint64_t TokenSessionPool::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

}  // namespace strongroom::crypto

// tests/audit/blocking_sink.h — an audit sink that writes for real unless a
// test blocks it; a blocked write waits until the test releases it. A sink
// that hangs cannot be produced for real, hence this one injected fault.
// Thread-safety: Block may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "audit/audit_sink.h"

namespace strongroom::testing_support {

class BlockingSink final : public audit::AuditSink {
 public:
  explicit BlockingSink(std::unique_ptr<audit::AuditSink> real) : real_(std::move(real)) {}
  Status WriteAll(int fd, ByteSpan bytes) override {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_; });
    --waiting_;
    lock.unlock();
    return real_->WriteAll(fd, bytes);
  }
  Status Sync(int fd) override { return real_->Sync(fd); }
  // Block(true) makes the next writes wait; Block(false) releases them.
  void Block(bool blocked) {
    std::lock_guard lock(mu_);
    blocked_ = blocked;
    cv_.notify_all();
  }
  // AwaitBlockedWrite waits until a write waits in the sink; false when
  // none did within `limit` (a bound for a broken test, not a timing).
  bool AwaitBlockedWrite(std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return waiting_ > 0; });
  }

 private:
  std::unique_ptr<audit::AuditSink> real_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_ = false;
  int waiting_ = 0;  // writes waiting in WriteAll
};

}  // namespace strongroom::testing_support

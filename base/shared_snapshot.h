// base/shared_snapshot.h — a value replaced as a whole now and then (the
// RBAC policy, the store's record authenticator) and read by every request.
// Readers take no lock: each thread keeps the snapshot it last read and
// checks one atomic version; only a thread that sees a new version takes
// the mutex, once.
// Thread-safety: Set and Get may be called from any thread.
// SECURITY: a thread keeps its last snapshot alive until its next Get (or
// its exit), so a replaced value lives on a little; do not put anything here
// that must be destroyed the moment it is replaced.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace strongroom {

template <typename T>
class SharedSnapshot {
 public:
  SharedSnapshot() : id_(NextId()) {}
  SharedSnapshot(const SharedSnapshot&) = delete;
  SharedSnapshot& operator=(const SharedSnapshot&) = delete;

  void Set(std::shared_ptr<const T> value) {
    std::lock_guard lock(mu_);
    value_ = std::move(value);
    version_.fetch_add(1, std::memory_order_release);
  }

  // Get returns the current value (null until the first Set).
  std::shared_ptr<const T> Get() const {
    // One slot per thread and T; the id tells snapshots of T apart, and is
    // never reused, so a destroyed snapshot's slot never matches a new one.
    struct Slot {
      std::uint64_t id = 0;
      std::uint64_t version = 0;
      std::shared_ptr<const T> value;
    };
    thread_local Slot slot;
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    if (slot.id != id_ || slot.version != version) {
      std::lock_guard lock(mu_);
      slot.id = id_;
      slot.version = version_.load(std::memory_order_relaxed);
      slot.value = value_;
    }
    return slot.value;
  }

 private:
  static std::uint64_t NextId() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  const std::uint64_t id_;
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;  // guarded by mu_
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace strongroom

// tests/audit/async_outcome.h — collects what one RecordAllAsync callback
// was told, for the audit tests that check when and how a caller is
// answered. Thread-safety: the callback may run on any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "base/status.h"

namespace strongroom::testing_support {

struct AsyncOutcome {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<Status> calls;
  std::function<void(Status)> Callback() {
    return [this](Status status) {
      std::lock_guard lock(mu);
      calls.push_back(std::move(status));
      changed.notify_all();
    };
  }
  // Wait waits (at most `limit`, a bound for a broken test) for a first
  // call and returns the calls.
  std::vector<Status> Wait(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mu);
    changed.wait_for(lock, limit, [&] { return !calls.empty(); });
    return calls;
  }
  // Count is how many calls came so far.
  std::size_t Count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
};

}  // namespace strongroom::testing_support

// api/http/handler_pool.h — a fixed set of threads running the handlers that may
// block (password checks, store writes, token operations), with a bounded
// queue so overload answers 503 instead of growing without limit.
//
// Thread-safety: Submit may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strongroom::api {

class HandlerPool {
 public:
  HandlerPool(unsigned threads, std::size_t max_queued);
  // ~HandlerPool runs every task already queued, then joins.
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Submit queues `task`; false (task not run) when max_queued tasks wait
  // already or the pool is stopping.
  bool Submit(std::function<void()> task);
  // Stop runs what is queued, then joins the threads. Idempotent.
  void Stop();

 private:
  void Run();

  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace strongroom::api

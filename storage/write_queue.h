// storage/write_queue.h — private to storage/: the queue between Write()
// callers and the writer thread.
//
// A caller pushes one PendingWrite and waits on its future; the writer pops
// batches and fulfils every promise it pops. Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

// PendingWrite is one Write() call: the caller keeps `done`'s future.
struct PendingWrite {
  std::string tag;
  std::function<Status(WriteTxn&)> fn;
  std::promise<StatusOr<WriteReceipt>> done;
};

// Gather asks PopBatch to hold a batch back briefly so that it fills:
// once a write is queued, PopBatch waits until `want` writes are queued or
// `linger` has passed since it woke, whichever is first. want <= 1: no
// waiting (the default).
struct Gather {
  std::size_t want = 0;
  std::chrono::microseconds linger{0};
};

class WriteQueue {
 public:
  // Push queues `write`; kUnavailable once Close() was called (the write is
  // then dropped unrun).
  Status Push(std::unique_ptr<PendingWrite> write);
  // PopBatch waits until writes are queued or the queue is closed, and
  // returns up to `max` of them in arrival order, after waiting as `gather`
  // says for more to arrive. Empty only when the queue is closed and
  // drained. REQUIRES: max >= 1.
  std::vector<std::unique_ptr<PendingWrite>> PopBatch(std::size_t max, Gather gather = {});
  // size is how many writes are queued now.
  std::size_t size();
  // Close refuses later pushes; writes already queued are still popped.
  void Close();

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<PendingWrite>> queue_;  // guarded by mutex_
  bool closed_ = false;                              // guarded by mutex_
};

}  // namespace strongroom::storage

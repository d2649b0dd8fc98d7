#include "storage/write_queue.h"

#include <algorithm>

namespace strongroom::storage {

Status WriteQueue::Push(std::unique_ptr<PendingWrite> write) {
  std::lock_guard lock(mutex_);
  if (closed_) return Status::Unavailable("the store is closing; the write was not run");
  queue_.push_back(std::move(write));
  // Notified under the lock: once the lock is released the write may run,
  // be answered and the Store be destroyed, with this queue.
  ready_.notify_one();
  return Status::Ok();
}

std::vector<std::unique_ptr<PendingWrite>> WriteQueue::PopBatch(std::size_t max, Gather gather) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  const std::size_t want = std::min(gather.want, max);
  if (want > 1 && queue_.size() < want) {
    ready_.wait_for(lock, gather.linger,
                    [this, want] { return closed_ || queue_.size() >= want; });
  }
  std::vector<std::unique_ptr<PendingWrite>> batch;
  while (!queue_.empty() && batch.size() < max) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

std::size_t WriteQueue::size() {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WriteQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  ready_.notify_all();
}

}  // namespace strongroom::storage

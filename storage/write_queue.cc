#include "storage/write_queue.h"

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

std::vector<std::unique_ptr<PendingWrite>> WriteQueue::PopBatch(std::size_t max) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  std::vector<std::unique_ptr<PendingWrite>> batch;
  while (!queue_.empty() && batch.size() < max) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

void WriteQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  ready_.notify_all();
}

}  // namespace strongroom::storage

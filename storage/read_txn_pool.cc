#include "storage/read_txn_pool.h"

#include <utility>

namespace strongroom::storage {

StatusOr<LmdbTxn> ReadTxnPool::Begin(MDB_env* env, std::size_t map_size_bytes) {
  LmdbTxn txn;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      txn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  // A transaction that cannot be renewed is freed by Renew; a new one is
  // tried instead, so the pool never decides a read fails.
  if (txn.live() && txn.Renew().ok()) return txn;
  return LmdbTxn::Begin(env, nullptr, MDB_RDONLY, map_size_bytes);
}

void ReadTxnPool::Release(LmdbTxn txn) {
  if (!txn.live()) return;
  txn.Reset();
  std::lock_guard lock(mu_);
  // Over capacity, `txn` is aborted as it goes out of scope (after the
  // lock: aborting a reset transaction takes no LMDB lock).
  if (idle_.size() < capacity_) idle_.push_back(std::move(txn));
}

void ReadTxnPool::Clear() {
  std::vector<LmdbTxn> idle;
  {
    std::lock_guard lock(mu_);
    idle.swap(idle_);
  }
  // Each destructor aborts its transaction.
}

}  // namespace strongroom::storage

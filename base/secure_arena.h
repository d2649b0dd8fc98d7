// base/secure_arena.h — the one locked memory region that holds every
// plaintext key and decrypted value of the process.
//
// The arena is sized once at start. Its pages are locked in RAM (mlock) and
// excluded from core dumps (MADV_DONTDUMP); every block is wiped when freed.
// It is split into shards (a buddy allocator each, with its own mutex) so
// that threads do not all contend on one lock, and each thread keeps one
// wiped block per size class of the process arena for reuse without any
// lock (a decrypt allocates and frees one value per request). At most one
// block per size class and thread is parked that way; a thread's blocks go
// back to the arena when it exits. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"

namespace strongroom {

struct SecureArenaOptions {
  // Total bytes reserved and locked. Default 4 MiB (RLIMIT_MEMLOCK is 8 MiB on
  // a stock Debian host and can be 64 KiB in containers).
  std::size_t size_bytes = 4u << 20;
  // When mlock fails: false (default) refuses to create the arena; true
  // creates it unlocked and reports locked() == false, which the appliance
  // shows in /readyz and its logs.
  bool allow_unlocked = false;
};

class SecureArena {
 public:
  // Create reserves and locks the region. Returns kFailedPrecondition when the
  // memory cannot be locked and !options.allow_unlocked, kInvalidArgument for
  // a size below 64 KiB or above 1 GiB, kResourceExhausted when mmap fails.
  static StatusOr<std::unique_ptr<SecureArena>> Create(const SecureArenaOptions& options);
  ~SecureArena();
  SecureArena(const SecureArena&) = delete;
  SecureArena& operator=(const SecureArena&) = delete;

  // Allocate returns a zeroed block of at least `size` bytes, or nullptr when
  // the arena is full or `size` is 0 or larger than one shard.
  void* Allocate(std::size_t size);
  // Free wipes and releases a block. REQUIRES: `p` came from Allocate(size)
  // on this arena with the same `size`.
  void Free(void* p, std::size_t size);

  bool locked() const { return locked_; }
  std::size_t capacity() const;
  std::size_t bytes_in_use() const;

  // InstallProcessArena creates the process-wide arena that SecretBytes uses.
  // Called once by the appliance (or a test main) before any secret exists;
  // a second call returns kFailedPrecondition.
  static Status InstallProcessArena(const SecureArenaOptions& options);
  // Process returns the installed arena or nullptr.
  static SecureArena* Process();

 private:
  class Shard;
  SecureArena() = default;
  void FreeToShard(void* p, std::size_t size);

  void* region_ = nullptr;
  std::size_t region_size_ = 0;
  bool locked_ = false;
  std::vector<std::unique_ptr<Shard>> shards_;
  // Bytes parked in threads' one-block-per-size caches (process arena only):
  // still allocated from a shard, free from the caller's point of view.
  std::atomic<std::size_t> thread_cached_bytes_{0};

  friend struct ThreadBlockCache;
};

}  // namespace strongroom

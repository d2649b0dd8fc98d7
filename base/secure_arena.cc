#include "base/secure_arena.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>

namespace strongroom {
namespace {

constexpr std::size_t kMinBlock = 32;          // order 0; holds two list pointers
constexpr std::size_t kMinArena = 64u << 10;   // 64 KiB
constexpr std::size_t kMaxArena = 1u << 30;    // 1 GiB
constexpr std::size_t kMaxShards = 4;
constexpr std::size_t kQuickListLength = 32;  // per order and shard

std::atomic<SecureArena*> g_process_arena{nullptr};
std::mutex g_install_mutex;

unsigned OrderFor(std::size_t size) {
  std::size_t block = std::bit_ceil(size < kMinBlock ? kMinBlock : size);
  return static_cast<unsigned>(std::countr_zero(block) - std::countr_zero(kMinBlock));
}

}  // namespace

// Shard is a buddy allocator over one power-of-two slice of the region.
// Free blocks form one doubly linked list per order, threaded through the
// blocks themselves (they live in locked memory, like the data).
class SecureArena::Shard {
 public:
  Shard(std::uint8_t* base, std::size_t size)
      : base_(base), size_(size),
        max_order_(OrderFor(size)),
        free_heads_(max_order_ + 1, nullptr),
        free_order_(size / kMinBlock, 0),
        quick_(max_order_ + 1) {
    PushFree(0, max_order_);
  }

  void* Allocate(std::size_t size) {
    if (size == 0 || size > size_) return nullptr;
    unsigned want = OrderFor(size);
    std::lock_guard<std::mutex> lock(mu_);
    if (!quick_[want].empty()) {  // a wiped block of exactly this size
      std::size_t index = quick_[want].back();
      quick_[want].pop_back();
      in_use_ += BlockBytes(want);
      return base_ + index * kMinBlock;
    }
    unsigned order = want;
    while (order <= max_order_ && free_heads_[order] == nullptr) ++order;
    if (order > max_order_ && DrainQuickLists()) {
      order = want;
      while (order <= max_order_ && free_heads_[order] == nullptr) ++order;
    }
    if (order > max_order_) return nullptr;
    std::size_t index = IndexOf(free_heads_[order]);
    RemoveFree(index, order);
    while (order > want) {  // split, keeping the lower half
      --order;
      PushFree(index + (std::size_t{1} << order), order);
    }
    in_use_ += BlockBytes(want);
    // Free blocks are wiped on Free and hold only their list header, which
    // RemoveFree nulls: the block is already zero. Clear the header again in
    // case pointers are not all-zero bits.
    void* p = base_ + index * kMinBlock;
    std::memset(p, 0, sizeof(FreeNode));
    return p;
  }

  bool Owns(const void* p) const {
    auto* b = static_cast<const std::uint8_t*>(p);
    return b >= base_ && b < base_ + size_;
  }

  void Free(void* p, std::size_t size) {
    unsigned order = OrderFor(size);
    // explicit_bzero: a wipe the compiler may not elide, at memset speed.
    explicit_bzero(p, BlockBytes(order));
    std::size_t index = IndexOf(p);
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ -= BlockBytes(order);
    // Small blocks wait in a per-size list first: a request/response loop
    // of one value size then costs no split and no merge.
    if (order < max_order_ && quick_[order].size() < kQuickListLength) {
      quick_[order].push_back(index);
      return;
    }
    Coalesce(index, order);
  }

  // Coalesce returns a wiped block to the buddy lists, merging with free
  // buddies. REQUIRES: mu_ held.
  void Coalesce(std::size_t index, unsigned order) {
    while (order < max_order_) {
      std::size_t buddy = index ^ (std::size_t{1} << order);
      if (free_order_[buddy] != order + 1) break;
      RemoveFree(buddy, order);
      index = index < buddy ? index : buddy;
      ++order;
    }
    PushFree(index, order);
  }

  // DrainQuickLists gives every quick-list block back to the buddy lists;
  // returns whether there was any. REQUIRES: mu_ held.
  bool DrainQuickLists() {
    bool any = false;
    for (unsigned order = 0; order <= max_order_; ++order) {
      for (std::size_t index : quick_[order]) Coalesce(index, order);
      any = any || !quick_[order].empty();
      quick_[order].clear();
    }
    return any;
  }

  std::size_t size() const { return size_; }
  std::size_t in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }

 private:
  struct FreeNode {
    FreeNode* prev;
    FreeNode* next;
  };

  static std::size_t BlockBytes(unsigned order) { return kMinBlock << order; }
  std::size_t IndexOf(const void* p) const {
    return static_cast<std::size_t>(static_cast<const std::uint8_t*>(p) - base_) / kMinBlock;
  }
  FreeNode* NodeAt(std::size_t index) const {
    return reinterpret_cast<FreeNode*>(base_ + index * kMinBlock);
  }

  void PushFree(std::size_t index, unsigned order) {
    FreeNode* node = NodeAt(index);
    node->prev = nullptr;
    node->next = free_heads_[order];
    if (node->next != nullptr) node->next->prev = node;
    free_heads_[order] = node;
    free_order_[index] = static_cast<std::uint8_t>(order + 1);
  }

  void RemoveFree(std::size_t index, unsigned order) {
    FreeNode* node = NodeAt(index);
    if (node->prev != nullptr) node->prev->next = node->next;
    else free_heads_[order] = node->next;
    if (node->next != nullptr) node->next->prev = node->prev;
    node->prev = node->next = nullptr;
    free_order_[index] = 0;
  }

  std::uint8_t* const base_;
  const std::size_t size_;
  const unsigned max_order_;
  mutable std::mutex mu_;
  std::vector<FreeNode*> free_heads_;       // guarded by mu_
  std::vector<std::uint8_t> free_order_;    // per min-block: order+1 if a free block starts here
  std::vector<std::vector<std::size_t>> quick_;  // per order: wiped free blocks, guarded by mu_
  std::size_t in_use_ = 0;                  // guarded by mu_
};

StatusOr<std::unique_ptr<SecureArena>> SecureArena::Create(const SecureArenaOptions& options) {
  if (options.size_bytes < kMinArena || options.size_bytes > kMaxArena) {
    return std::unexpected(Status::InvalidArgument(
        "secure arena size must be between 64 KiB and 1 GiB"));
  }
  // Shards are equal powers of two; the region is their sum.
  std::size_t shard_size = std::bit_floor(options.size_bytes / kMaxShards);
  if (shard_size < kMinArena / kMaxShards) shard_size = kMinArena / kMaxShards;
  std::size_t shards = options.size_bytes / shard_size;
  if (shards > kMaxShards) shards = kMaxShards;
  std::size_t region_size = shard_size * shards;

  void* region = mmap(nullptr, region_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    return std::unexpected(Status::ResourceExhausted(
        std::string("cannot map the secure arena: ") + std::strerror(errno)));
  }
  // SECURITY: keep plaintext keys and values out of core dumps and out of
  // children made by fork.
  (void)madvise(region, region_size, MADV_DONTDUMP);
  (void)madvise(region, region_size, MADV_DONTFORK);
  // The raw syscall: sanitizer runtimes intercept mlock() as a no-op that
  // reports success, which would hide a failure to lock.
  bool locked = ::syscall(SYS_mlock, region, region_size) == 0;
  if (!locked && !options.allow_unlocked) {
    int err = errno;
    munmap(region, region_size);
    return std::unexpected(Status::FailedPrecondition(
        "cannot lock " + std::to_string(region_size >> 10) +
        " KiB of secure memory (" + std::strerror(err) +
        "); raise RLIMIT_MEMLOCK (ulimit -l), lower the arena size, or start with "
        "--allow-unlocked-memory to accept that secrets may be swapped out"));
  }
  std::unique_ptr<SecureArena> arena(new SecureArena());
  arena->region_ = region;
  arena->region_size_ = region_size;
  arena->locked_ = locked;
  for (std::size_t i = 0; i < shards; ++i) {
    arena->shards_.push_back(std::make_unique<Shard>(
        static_cast<std::uint8_t*>(region) + i * shard_size, shard_size));
  }
  return arena;
}

SecureArena::~SecureArena() {
  if (region_ != nullptr) {
    OPENSSL_cleanse(region_, region_size_);
    if (locked_) munlock(region_, region_size_);
    munmap(region_, region_size_);
  }
}

// ThreadBlockCache parks one wiped block per size class for the calling
// thread (process arena only), and gives them back when the thread exits.
constexpr unsigned kCachedOrders = 11;  // 32 B .. 32 KiB

struct ThreadBlockCache {
  void* blocks[kCachedOrders] = {};
  ~ThreadBlockCache() {
    SecureArena* arena = SecureArena::Process();
    if (arena == nullptr) return;
    for (unsigned order = 0; order < kCachedOrders; ++order) {
      if (blocks[order] == nullptr) continue;
      std::size_t size = kMinBlock << order;
      arena->thread_cached_bytes_.fetch_sub(size, std::memory_order_relaxed);
      arena->FreeToShard(blocks[order], size);
    }
  }
};

thread_local ThreadBlockCache t_block_cache;

void* SecureArena::Allocate(std::size_t size) {
  if (size == 0) return nullptr;
  unsigned order = OrderFor(size);
  if (order < kCachedOrders && this == Process()) {
    void*& slot = t_block_cache.blocks[order];
    if (slot != nullptr) {  // wiped when it was parked
      void* p = slot;
      slot = nullptr;
      thread_cached_bytes_.fetch_sub(kMinBlock << order, std::memory_order_relaxed);
      return p;
    }
  }
  std::size_t n = shards_.size();
  std::size_t first = std::hash<std::thread::id>{}(std::this_thread::get_id()) % n;
  for (std::size_t i = 0; i < n; ++i) {
    if (void* p = shards_[(first + i) % n]->Allocate(size)) return p;
  }
  return nullptr;
}

void SecureArena::Free(void* p, std::size_t size) {
  if (p == nullptr) return;
  unsigned order = OrderFor(size);
  if (order < kCachedOrders && this == Process()) {
    void*& slot = t_block_cache.blocks[order];
    if (slot == nullptr) {
      explicit_bzero(p, kMinBlock << order);
      slot = p;
      thread_cached_bytes_.fetch_add(kMinBlock << order, std::memory_order_relaxed);
      return;
    }
  }
  FreeToShard(p, size);
}

void SecureArena::FreeToShard(void* p, std::size_t size) {
  for (auto& shard : shards_) {
    if (shard->Owns(p)) {
      shard->Free(p, size);
      return;
    }
  }
}

std::size_t SecureArena::capacity() const { return region_size_; }

std::size_t SecureArena::bytes_in_use() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) total += shard->in_use();
  std::size_t cached = thread_cached_bytes_.load(std::memory_order_relaxed);
  return total > cached ? total - cached : 0;
}

Status SecureArena::InstallProcessArena(const SecureArenaOptions& options) {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_process_arena.load() != nullptr) {
    return Status::FailedPrecondition("the process secure arena is already installed");
  }
  SR_ASSIGN_OR_RETURN(std::unique_ptr<SecureArena> arena, Create(options));
  // Lives until exit: secrets may be released by static destructors.
  g_process_arena.store(arena.release());
  return Status::Ok();
}

SecureArena* SecureArena::Process() { return g_process_arena.load(std::memory_order_acquire); }

}  // namespace strongroom

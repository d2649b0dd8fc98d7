// storage/tag_table.h — private to storage/: TagTable, the map from record
// key to TagIndexEntry that one tag-index shard (tag_index.h) holds.
//
// Why not std::unordered_map: a decrypt looks up one random key among all
// the store's records, so the lookup's cost is its cache misses, and
// libstdc++'s node-based map takes four dependent ones (the bucket, the node
// before the bucket's first, the node, the key's characters); with 10,000
// secrets it was 2.6% of the server's samples (issue 19). TagTable keeps the
// records in one vector and an open-addressing array of slots (linear
// probing, at most half full), each slot the record's position and 32 bits
// of its hash: a lookup reads one slot (two at most, as a rule), then the
// one record whose hash bits match, whose short key (up to 15 bytes) lies
// in the record itself.
//
// Keys are stored whole and compared whole: a hash never stands for a key.
// No single erase: records leave only by EraseIf, which compacts the
// vector and rebuilds the slots (the index prunes tombstones in bulk).
//
// Thread-safety: none; the shard's lock guards it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::storage {

inline constexpr std::size_t kIndexedTagBytes = 16;
using IndexedTag = std::array<std::uint8_t, kIndexedTagBytes>;

// TagIndexEntry is what the index knows of one record (tag_index.h).
struct TagIndexEntry {
  IndexedTag tag{};
  std::uint64_t generation = 0;
  std::uint64_t changed_rv = 0;
  bool deleted = false;
};

// TagKeyHash is the hash every TagTable call takes with its key: the
// caller computes it once (the index also picks the shard from it).
std::size_t TagKeyHash(std::string_view key);

class TagTable {
 public:
  struct Item {
    std::string key;
    std::size_t hash = 0;  // TagKeyHash(key)
    TagIndexEntry entry;
  };

  // Find returns the entry under `key`, or null. The pointer is valid until
  // the next Assign or EraseIf. REQUIRES: hash == TagKeyHash(key).
  const TagIndexEntry* Find(std::string_view key, std::size_t hash) const;
  TagIndexEntry* Find(std::string_view key, std::size_t hash);
  // Assign stores `entry` under `key`, replacing any entry there.
  // REQUIRES: hash == TagKeyHash(key).
  void Assign(std::string_view key, std::size_t hash, const TagIndexEntry& entry);
  // EraseIf removes every item for which `drop(item)` is true.
  template <typename Drop>
  void EraseIf(Drop drop) {
    std::erase_if(items_, drop);
    Rebuild(slots_.size());
  }

  // items lists every record, in no particular order. Changing an item's
  // entry is allowed; changing its key or hash is not.
  std::vector<Item>& items() { return items_; }
  const std::vector<Item>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  void swap(TagTable& other) noexcept {
    items_.swap(other.items_);
    slots_.swap(other.slots_);
  }

 private:
  // A slot: 0 when empty, else (the hash's upper 32 bits << 32) | (the
  // item's position + 1).
  using Slot = std::uint64_t;
  // FindPosition returns the item's position under `key`, or -1.
  std::ptrdiff_t FindPosition(std::string_view key, std::size_t hash) const;
  // Rebuild sets the slot array to `capacity` (a power of two, or 0 for
  // the least that holds every item) and re-enters every item.
  void Rebuild(std::size_t capacity);
  void Enter(std::size_t hash, std::size_t position);

  std::vector<Item> items_;
  std::vector<Slot> slots_;  // size 0 or a power of two, at most half full
};

}  // namespace strongroom::storage

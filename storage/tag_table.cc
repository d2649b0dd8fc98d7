#include "storage/tag_table.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace strongroom::storage {
namespace {

constexpr std::size_t kMinimumSlots = 16;

std::uint64_t HashBits(std::size_t hash) { return static_cast<std::uint64_t>(hash) >> 32; }

}  // namespace

std::size_t TagKeyHash(std::string_view key) { return std::hash<std::string_view>{}(key); }

std::ptrdiff_t TagTable::FindPosition(std::string_view key, std::size_t hash) const {
  if (slots_.empty()) return -1;
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t bits = HashBits(hash);
  // The table is at most half full, so an empty slot ends every probe.
  for (std::size_t at = hash & mask;; at = (at + 1) & mask) {
    const Slot slot = slots_[at];
    if (slot == 0) return -1;
    if ((slot >> 32) != bits) continue;
    const std::size_t position = static_cast<std::uint32_t>(slot) - 1;
    const Item& item = items_[position];
    if (item.hash == hash && item.key == key) return static_cast<std::ptrdiff_t>(position);
  }
}

const TagIndexEntry* TagTable::Find(std::string_view key, std::size_t hash) const {
  const std::ptrdiff_t position = FindPosition(key, hash);
  return position < 0 ? nullptr : &items_[static_cast<std::size_t>(position)].entry;
}

TagIndexEntry* TagTable::Find(std::string_view key, std::size_t hash) {
  const std::ptrdiff_t position = FindPosition(key, hash);
  return position < 0 ? nullptr : &items_[static_cast<std::size_t>(position)].entry;
}

void TagTable::Assign(std::string_view key, std::size_t hash, const TagIndexEntry& entry) {
  if (TagIndexEntry* known = Find(key, hash)) {
    *known = entry;
    return;
  }
  items_.push_back(Item{std::string(key), hash, entry});
  if (2 * items_.size() > slots_.size()) {
    Rebuild(0);  // enters the new item too
    return;
  }
  Enter(hash, items_.size() - 1);
}

void TagTable::Rebuild(std::size_t capacity) {
  if (capacity == 0 || capacity < 2 * items_.size()) {
    capacity = items_.empty() ? 0 : std::bit_ceil(std::max(kMinimumSlots, 2 * items_.size()));
  }
  slots_.assign(capacity, 0);
  for (std::size_t position = 0; position < items_.size(); ++position) {
    Enter(items_[position].hash, position);
  }
}

void TagTable::Enter(std::size_t hash, std::size_t position) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t at = hash & mask;
  while (slots_[at] != 0) at = (at + 1) & mask;
  slots_[at] = (HashBits(hash) << 32) | (static_cast<std::uint64_t>(position) + 1);
}

}  // namespace strongroom::storage

#include "storage/tag_index.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

namespace strongroom::storage {
namespace {

// ShardNumber takes the hash's top bits: the table's slots use the low ones
// (tag_table.h).
std::size_t ShardNumber(std::size_t hash) {
  return (hash >> (sizeof(std::size_t) * 8 - 8)) % kTagIndexShards;
}

bool SameTag(const IndexedTag& known, ByteSpan stored_tag) {
  // Not constant-time on purpose: both tags are in data.mdb for anyone who
  // can read it, so timing reveals nothing an attacker lacks.
  return std::memcmp(known.data(), stored_tag.data(), known.size()) == 0;
}

}  // namespace

IndexedTag TruncateTag(ByteSpan tag) {
  IndexedTag out{};
  std::copy_n(tag.begin(), std::min(tag.size(), out.size()), out.begin());
  return out;
}

TagIndexContents::TagIndexContents() = default;

void TagIndexContents::Add(Table table, std::string_view key, std::uint64_t generation,
                           const RecordTag& tag) {
  const std::size_t hash = TagKeyHash(key);
  maps_[static_cast<std::size_t>(table)][ShardNumber(hash)].Assign(
      key, hash, TagIndexEntry{TruncateTag(tag), generation, 0, false});
}

const TagIndex::Shard& TagIndex::ShardOf(Table table, std::size_t hash) const {
  return shards_[static_cast<std::size_t>(table)][ShardNumber(hash)];
}

TagIndex::Shard& TagIndex::ShardOf(Table table, std::size_t hash) {
  return shards_[static_cast<std::size_t>(table)][ShardNumber(hash)];
}

TagIndex::Verdict TagIndex::CheckPresent(Table table, std::string_view key,
                                         std::uint64_t generation, ByteSpan stored_tag,
                                         std::uint64_t snapshot_rv) const {
  if (stored_tag.size() < kIndexedTagBytes) return Verdict::kUnexplained;
  const std::size_t hash = TagKeyHash(key);
  const Shard& shard = ShardOf(table, hash);
  std::shared_lock lock(shard.mu);
  const TagIndexEntry* found = shard.map.Find(key, hash);
  if (found == nullptr) {
    // A record deleted after this snapshot whose tombstone is already gone.
    return snapshot_rv < pruned_through_rv_.load(std::memory_order_acquire) ? Verdict::kConsistent
                                                                            : Verdict::kUnexplained;
  }
  const TagIndexEntry& entry = *found;
  // Changed after this snapshot was taken: the index no longer holds the
  // state the snapshot sees.
  if (entry.changed_rv > snapshot_rv) return Verdict::kConsistent;
  if (entry.deleted || entry.generation != generation || !SameTag(entry.tag, stored_tag)) {
    return Verdict::kUnexplained;
  }
  return Verdict::kConsistent;
}

TagIndex::Verdict TagIndex::CheckAbsent(Table table, std::string_view key,
                                        std::uint64_t snapshot_rv) const {
  const std::size_t hash = TagKeyHash(key);
  const Shard& shard = ShardOf(table, hash);
  std::shared_lock lock(shard.mu);
  const TagIndexEntry* found = shard.map.Find(key, hash);
  if (found == nullptr || found->deleted || found->changed_rv > snapshot_rv) {
    return Verdict::kConsistent;
  }
  return Verdict::kUnexplained;
}

void TagIndex::Apply(std::span<const TagChange> changes) {
  for (const TagChange& change : changes) {
    const std::size_t hash = TagKeyHash(change.key);
    Shard& shard = ShardOf(change.table, hash);
    std::unique_lock lock(shard.mu);
    shard.map.Assign(
        change.key, hash,
        TagIndexEntry{change.tag, change.generation, change.resource_version, change.deleted});
  }
}

void TagIndex::Replace(TagIndexContents contents, std::uint64_t base_rv) {
  for (std::size_t t = 0; t < shards_.size(); ++t) {
    for (std::size_t s = 0; s < kTagIndexShards; ++s) {
      TagTable& fresh = contents.maps_[t][s];
      Shard& shard = shards_[t][s];
      std::unique_lock lock(shard.mu);
      for (TagTable::Item& item : fresh.items()) {
        TagIndexEntry& entry = item.entry;
        const TagIndexEntry* known = shard.map.Find(item.key, item.hash);
        bool unchanged = known != nullptr && !known->deleted &&
                         known->generation == entry.generation && known->tag == entry.tag;
        entry.changed_rv = unchanged ? known->changed_rv : base_rv;
      }
      for (const TagTable::Item& item : shard.map.items()) {
        if (fresh.Find(item.key, item.hash) != nullptr) continue;
        if (item.entry.deleted) {
          fresh.Assign(item.key, item.hash, item.entry);
        } else {
          fresh.Assign(item.key, item.hash, TagIndexEntry{IndexedTag{}, 0, base_rv, true});
        }
      }
      shard.map.swap(fresh);
    }
  }
}

void TagIndex::PruneTombstones(std::uint64_t through_rv) {
  // Raised first: a reader that misses a tombstone must already see it.
  std::uint64_t pruned = pruned_through_rv_.load(std::memory_order_relaxed);
  if (through_rv <= pruned) return;
  pruned_through_rv_.store(through_rv, std::memory_order_release);
  for (auto& table : shards_) {
    for (Shard& shard : table) {
      std::unique_lock lock(shard.mu);
      shard.map.EraseIf([&](const TagTable::Item& item) {
        return item.entry.deleted && item.entry.changed_rv <= through_rv;
      });
    }
  }
}

TagIndexStats TagIndex::stats() const {
  TagIndexStats out;
  for (const auto& table : shards_) {
    for (const Shard& shard : table) {
      std::shared_lock lock(shard.mu);
      for (const TagTable::Item& item : shard.map.items()) {
        if (item.entry.deleted) {
          ++out.tombstones;
        } else {
          ++out.live;
        }
      }
    }
  }
  return out;
}

}  // namespace strongroom::storage

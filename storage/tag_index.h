// storage/tag_index.h — private to storage/: the in-memory tag index, which
// remembers, for every live record of every authenticated table, the tag and
// generation Strongroom last committed, so a read can tell a valid old record
// put back into data.mdb (its own MAC verifies) from the current one.
//
// Each entry also holds `changed_rv`, the resourceVersion at which the entry
// last changed, so a snapshot older than that change (a request that began
// before a concurrent write) is not compared with a state it cannot see.
// Deleted records stay as tombstones (changed_rv = the deleting write) until
// PruneTombstones, so an older snapshot that still sees the record is not
// mistaken for one where it was put back.
//
// SECURITY: only the first 16 of the 32 tag bytes are kept. The index is
// compared with records whose own MAC has just verified, so the only records
// it must tell apart are ones Strongroom (holding the MAC key) wrote; two
// such records of one (table, key) share their first 16 tag bytes only with
// probability 2^-128 per pair, and an attacker cannot search for a collision
// without the MAC key. The generation is compared as well.
//
// Cost: one entry per live record plus tombstones; a lookup is one hash of
// the key, a shared lock on one of kTagIndexShards shards of its table and
// one probe of that shard's flat table (tag_table.h: two cache misses where
// std::unordered_map took four), without allocating. Keys are stored whole,
// never as a hash: a hash collision would refuse a good record.
//
// Thread-safety: Check* and stats may run on any thread concurrently with
// one Apply/Replace/PruneTombstones caller at a time (the store serialises
// those).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "storage/storage.h"
#include "storage/tag_table.h"

namespace strongroom::storage {

inline constexpr std::size_t kTagIndexShards = 16;  // per table

// TruncateTag returns the part of a stored tag the index keeps.
IndexedTag TruncateTag(ByteSpan tag);

// TagChange is one record a committed write stored or deleted.
struct TagChange {
  Table table = Table::kMeta;
  std::string key;
  std::uint64_t generation = 0;  // 0 when deleted
  IndexedTag tag{};              // zero when deleted
  bool deleted = false;
  std::uint64_t resource_version = 0;  // of the write that made the change
};

struct TagIndexStats {
  std::uint64_t live = 0;
  std::uint64_t tombstones = 0;
};

// TagIndexContents is a set of records collected by a scan, to be installed
// by TagIndex::Replace. Not thread-safe.
class TagIndexContents {
 public:
  TagIndexContents();
  void Add(Table table, std::string_view key, std::uint64_t generation, const RecordTag& tag);

 private:
  friend class TagIndex;
  std::array<std::array<TagTable, kTagIndexShards>, kTableCount> maps_;
};

class TagIndex {
 public:
  enum class Verdict { kConsistent, kUnexplained };

  // CheckPresent compares a verified record (its generation and the stored
  // tag, at least kIndexedTagBytes long) found in a snapshot at
  // `snapshot_rv`. kUnexplained when the index knows another tag or
  // generation, knows the record as deleted, or does not know it (unless
  // the entry changed after the snapshot, or its tombstone was pruned after
  // the snapshot: then the index cannot tell and says kConsistent).
  Verdict CheckPresent(Table table, std::string_view key, std::uint64_t generation,
                       ByteSpan stored_tag, std::uint64_t snapshot_rv) const;
  // CheckAbsent: kUnexplained when the index knows `key` as live since at or
  // before `snapshot_rv`.
  Verdict CheckAbsent(Table table, std::string_view key, std::uint64_t snapshot_rv) const;

  // Apply records committed changes. REQUIRES: the batch committed.
  void Apply(std::span<const TagChange> changes);
  // Replace installs `contents`, collected from a verified snapshot at
  // `base_rv`: an entry whose tag or generation differs from the one known
  // (or that is new) gets changed_rv = base_rv; a known live record missing
  // from `contents` becomes a tombstone at base_rv; known tombstones stay.
  void Replace(TagIndexContents contents, std::uint64_t base_rv);
  // PruneTombstones drops tombstones of deletions at or below `through_rv`.
  // REQUIRES: no snapshot older than through_rv is still read (else a record
  // such a snapshot sees is accepted unchecked, see CheckPresent).
  void PruneTombstones(std::uint64_t through_rv);

  TagIndexStats stats() const;

 private:
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    TagTable map;  // guarded by mu
  };
  const Shard& ShardOf(Table table, std::size_t hash) const;
  Shard& ShardOf(Table table, std::size_t hash);

  std::array<std::array<Shard, kTagIndexShards>, kTableCount> shards_;
  // The highest deletion whose tombstone was pruned.
  std::atomic<std::uint64_t> pruned_through_rv_{0};
};

}  // namespace strongroom::storage

// TagTable (storage/tag_table.h), the flat map of one tag-index shard:
// lookups by whole key, overwrites, growth past many rehashes, keys that
// share their hash bits, and bulk erasure.
#include "storage/tag_table.h"

#include <gtest/gtest.h>

#include <string>

namespace strongroom::storage {
namespace {

TagIndexEntry EntryOf(std::uint64_t generation) {
  TagIndexEntry entry;
  entry.generation = generation;
  entry.tag[0] = static_cast<std::uint8_t>(generation);
  return entry;
}

std::string KeyOf(int i) {
  return "namespace-" + std::to_string(i % 7) + "/value-" + std::to_string(i);
}

TEST(TagTable, FindsWhatWasAssignedAndNothingElse) {
  TagTable table;
  EXPECT_EQ(table.Find("a", TagKeyHash("a")), nullptr);
  table.Assign("a", TagKeyHash("a"), EntryOf(1));
  ASSERT_NE(table.Find("a", TagKeyHash("a")), nullptr);
  EXPECT_EQ(table.Find("a", TagKeyHash("a"))->generation, 1u);
  EXPECT_EQ(table.Find("b", TagKeyHash("b")), nullptr);
  // The same hash with another key is another record: keys compare whole.
  EXPECT_EQ(table.Find("b", TagKeyHash("a")), nullptr);
  table.Assign("a", TagKeyHash("a"), EntryOf(2));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find("a", TagKeyHash("a"))->generation, 2u);
}

TEST(TagTable, KeepsEveryRecordAcrossGrowth) {
  TagTable table;
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) table.Assign(KeyOf(i), TagKeyHash(KeyOf(i)), EntryOf(i + 1));
  ASSERT_EQ(table.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    const TagIndexEntry* found = table.Find(KeyOf(i), TagKeyHash(KeyOf(i)));
    ASSERT_NE(found, nullptr) << KeyOf(i);
    EXPECT_EQ(found->generation, static_cast<std::uint64_t>(i + 1));
  }
  EXPECT_EQ(table.Find(KeyOf(kCount), TagKeyHash(KeyOf(kCount))), nullptr);
}

TEST(TagTable, TellsApartKeysWhoseHashesCollide) {
  // Every key under one hash: each probe passes the others' slots.
  TagTable table;
  for (int i = 0; i < 40; ++i) table.Assign(KeyOf(i), 12345, EntryOf(i + 1));
  for (int i = 0; i < 40; ++i) {
    const TagIndexEntry* found = table.Find(KeyOf(i), 12345);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->generation, static_cast<std::uint64_t>(i + 1));
  }
  EXPECT_EQ(table.Find(KeyOf(40), 12345), nullptr);
}

TEST(TagTable, EraseIfDropsExactlyTheChosenRecords) {
  TagTable table;
  for (int i = 0; i < 100; ++i) table.Assign(KeyOf(i), TagKeyHash(KeyOf(i)), EntryOf(i));
  table.EraseIf([](const TagTable::Item& item) { return item.entry.generation % 3 == 0; });
  EXPECT_EQ(table.size(), 66u);
  for (int i = 0; i < 100; ++i) {
    const bool kept = table.Find(KeyOf(i), TagKeyHash(KeyOf(i))) != nullptr;
    EXPECT_EQ(kept, i % 3 != 0) << KeyOf(i);
  }
  // Entries can be added again after erasure.
  table.Assign(KeyOf(0), TagKeyHash(KeyOf(0)), EntryOf(7));
  ASSERT_NE(table.Find(KeyOf(0), TagKeyHash(KeyOf(0))), nullptr);
  EXPECT_EQ(table.Find(KeyOf(0), TagKeyHash(KeyOf(0)))->generation, 7u);
  table.EraseIf([](const TagTable::Item&) { return true; });
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Find(KeyOf(0), TagKeyHash(KeyOf(0))), nullptr);
}

}  // namespace
}  // namespace strongroom::storage

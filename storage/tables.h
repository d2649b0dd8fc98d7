// storage/tables.h — private to storage/: the names of the LMDB databases,
// the reserved kMeta keys the store itself maintains, and how a record is
// named in an error message. Thread-safety: constants and pure functions.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "storage/storage.h"

namespace strongroom::storage {

// kAllTables lists every Table in order of its value.
inline constexpr std::array<Table, kTableCount> kAllTables = {
    Table::kMeta,         Table::kSystem, Table::kKeks,   Table::kDataKeys,
    Table::kSecureValues, Table::kUsers,  Table::kTokens, Table::kBindings,
    Table::kSensuSecrets, Table::kSensuProviders,
};
// A table added to the enum but not here would leave a default (kMeta) slot.
constexpr bool AllTablesInValueOrder() {
  for (int i = 0; i < kTableCount; ++i) {
    if (static_cast<int>(kAllTables[i]) != i) return false;
  }
  return true;
}
static_assert(AllTablesInValueOrder());

// IsAuthenticated returns whether records of `table` carry a MAC (all tables
// but kMeta).
inline bool IsAuthenticated(Table table) { return table != Table::kMeta; }

// Reserved kMeta keys, written only by the store; PutMeta refuses them. The
// counters are big-endian integers.
inline constexpr std::string_view kSchemaVersionKey = "schema_version";      // u32
inline constexpr std::string_view kResourceVersionKey = "resource_version";  // u64
// The store digest and its MAC (32 bytes each; store_digest.h).
inline constexpr std::string_view kStoreDigestKey = "store_digest";
inline constexpr std::string_view kStoreDigestMacKey = "store_digest_mac";
// The cluster revision of the last batch a replica applied (u64; replicated
// mode only, replication.h).
inline constexpr std::string_view kReplicaRevisionKey = "replica_revision";
// GenerationKey returns the kMeta key of one cache generation counter (u64),
// "generation/<kind>".
std::string_view GenerationKey(CacheKind kind);
// IsReservedMetaKey returns whether `key` is one of the above.
bool IsReservedMetaKey(std::string_view key);
// IsCounterMetaKey returns whether `key` is one the digest record carries in
// replicated mode (resource_version, store_digest, store_digest_mac,
// replica_revision): never replicated as a kMeta change.
bool IsCounterMetaKey(std::string_view key);

// DescribeRecord returns "record '<key>' in table <name>" for error messages.
// Non-printable key bytes are shown as \xNN so a key cannot forge log lines.
// SECURITY: keys are names, never secret; values are never described.
std::string DescribeRecord(Table table, std::string_view key);

}  // namespace strongroom::storage

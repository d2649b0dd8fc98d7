// storage/record_io.h — private to storage/: reading and writing records and
// kMeta values inside one LMDB transaction. ReadTxn and WriteTxn are thin
// wrappers over these functions. Thread-safety: a TxnContext is used by the
// thread that owns its transaction.
#pragma once

#include <lmdb.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

class DigestDelta;       // store_digest.h
class TagIndexContents;  // tag_index.h
struct TxnContext;

// TableHandles holds one LMDB database handle per Table, indexed by value.
using TableHandles = std::array<MDB_dbi, kTableCount>;

using RecordVisitor = std::function<bool(std::string_view key, const Record& record)>;

// ObservedRecord is what a read found under a key, after its MAC verified.
struct ObservedRecord {
  std::uint64_t generation = 0;
  ByteSpan stored_tag;  // the stored MAC (32 bytes), into the LMDB map
};

// RecordWatch compares what a transaction reads with what Strongroom last
// committed (integrity_watch.h). Implementations are per transaction.
class RecordWatch {
 public:
  virtual ~RecordWatch() = default;
  // Check returns OK, or kIntegrityError when `observed` (null: the key is
  // absent) is not what Strongroom last committed under (table, key).
  virtual Status Check(const TxnContext& ctx, Table table, std::string_view key,
                       const ObservedRecord* observed) const = 0;
};

// TxnContext is what the functions below need; it borrows everything.
struct TxnContext {
  MDB_txn* txn = nullptr;
  const TableHandles* tables = nullptr;
  // Null until Store::SetAuthenticator; authenticated tables then give
  // kFailedPrecondition.
  const RecordAuthenticator* authenticator = nullptr;
  std::size_t map_size_bytes = 0;  // for the map-full message
  // Null: records are checked by their MAC only. Otherwise GetRecord,
  // ScanRecords, NextGeneration and PutRecord (the record it replaces) ask
  // it about every verified record and every absent key they look up.
  const RecordWatch* watch = nullptr;
};

// GetRecord returns the verified record (see ReadTxn::Get for the errors).
StatusOr<Record> GetRecord(const TxnContext& ctx, Table table, std::string_view key);
// ScanRecords implements ReadTxn::Scan.
Status ScanRecords(const TxnContext& ctx, Table table, std::string_view prefix,
                   std::string_view after, const RecordVisitor& visit);
// NextGeneration returns 1 when `key` is absent, else the verified stored
// generation + 1 (kIntegrityError when the stored record does not verify:
// SECURITY: a tampered record is never silently overwritten).
StatusOr<std::uint64_t> NextGeneration(const TxnContext& ctx, Table table, std::string_view key);
// PutRecord stores `value` under the next generation and returns it. Once
// stored, the replaced record's tag is subtracted from `digest` and the new
// one added (on an error `digest` is unchanged); `new_tag`, when non-null,
// receives the stored tag. REQUIRES: a write transaction.
StatusOr<std::uint64_t> PutRecord(const TxnContext& ctx, Table table, std::string_view key,
                                  ByteSpan value, DigestDelta& digest,
                                  RecordTag* new_tag = nullptr);
// DeleteRecord removes `key`; kNotFound when absent. Once removed, its
// stored tag is subtracted from `digest` (nothing for a record too short to
// hold one). The record is not verified, so a tampered one can be deleted;
// SECURITY: D then still counts the tag Strongroom wrote, so the store keeps
// failing VerifyIntegrity. kFailedPrecondition when no authenticator is set
// (D's MAC could not be refreshed). REQUIRES: a write transaction.
Status DeleteRecord(const TxnContext& ctx, Table table, std::string_view key, DigestDelta& digest);
// SumRecordTags verifies every record of `table` (kIntegrityError at the
// first that fails, as Scan) and adds its tag to `sum` and 1 to `count`,
// and (when non-null) the record to `collect`. ctx.watch is not asked: this
// is the scan the watch itself relies on.
Status SumRecordTags(const TxnContext& ctx, Table table, std::array<std::uint8_t, 32>& sum,
                     std::uint64_t& count, TagIndexContents* collect = nullptr);

// GetStoredBytes returns a copy of the bytes stored under (table, key), or
// nullopt when absent. Nothing is verified (the replication seam verifies
// what it applies itself, replication.cc).
StatusOr<std::optional<Bytes>> GetStoredBytes(const TxnContext& ctx, Table table,
                                              std::string_view key);
// PutStoredBytes stores `stored` as is; DeleteStoredBytes removes the key
// (OK when absent). The caller maintains D. REQUIRES: a write transaction.
Status PutStoredBytes(const TxnContext& ctx, Table table, std::string_view key, ByteSpan stored);
Status DeleteStoredBytes(const TxnContext& ctx, Table table, std::string_view key);

// GetMetaValue returns a kMeta value (kNotFound when absent).
StatusOr<Bytes> GetMetaValue(const TxnContext& ctx, std::string_view key);
// PutMetaValue stores a kMeta value. REQUIRES: a write transaction.
Status PutMetaValue(const TxnContext& ctx, std::string_view key, ByteSpan value);
// GetMetaU64 returns a big-endian u64 kMeta value, 0 when absent, kInternal
// when it is not 8 bytes.
StatusOr<std::uint64_t> GetMetaU64(const TxnContext& ctx, std::string_view key);
Status PutMetaU64(const TxnContext& ctx, std::string_view key, std::uint64_t value);

}  // namespace strongroom::storage

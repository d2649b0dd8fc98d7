#include "storage/record_io.h"

#include <optional>
#include <string>
#include <tuple>

#include "storage/lmdb_env.h"
#include "storage/record_codec.h"
#include "storage/store_digest.h"
#include "storage/tables.h"
#include "storage/tag_index.h"

namespace strongroom::storage {
namespace {

MDB_dbi Dbi(const TxnContext& ctx, Table table) {
  return (*ctx.tables)[static_cast<std::size_t>(table)];
}

// CheckKey refuses keys LMDB cannot store: empty or longer than its maximum
// key size (511 bytes in Debian's build).
Status CheckKey(const TxnContext& ctx, Table table, std::string_view key) {
  if (key.empty()) {
    return Status::InvalidArgument("empty key in table " + std::string(TableName(table)));
  }
  int max = mdb_env_get_maxkeysize(mdb_txn_env(ctx.txn));
  if (key.size() > static_cast<std::size_t>(max)) {
    return Status::InvalidArgument("key longer than " + std::to_string(max) + " bytes in table " +
                                   std::string(TableName(table)));
  }
  return Status::Ok();
}

// Authenticator returns the authenticator for a record table: kInvalidArgument
// for kMeta (it has its own accessors), kFailedPrecondition when none is set.
StatusOr<const RecordAuthenticator*> Authenticator(const TxnContext& ctx, Table table) {
  if (!IsAuthenticated(table)) {
    return std::unexpected(
        Status::InvalidArgument("table meta holds no records; use the meta accessors"));
  }
  if (ctx.authenticator == nullptr) {
    return std::unexpected(Status::FailedPrecondition(
        "no record authenticator is set; table " + std::string(TableName(table)) +
        " cannot be read or written"));
  }
  return ctx.authenticator;
}

// RawGet returns the stored bytes under `key`, or nullopt when absent. The
// span points into the LMDB map: valid until the next write in this
// transaction or its end.
StatusOr<std::optional<ByteSpan>> RawGet(const TxnContext& ctx, Table table, std::string_view key) {
  SR_RETURN_IF_ERROR(CheckKey(ctx, table, key));
  MDB_val k = ToVal(key);
  MDB_val v{};
  int rc = mdb_get(ctx.txn, Dbi(ctx, table), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<ByteSpan>();
  if (rc != MDB_SUCCESS) {
    return std::unexpected(LmdbStatus(rc, "cannot read " + DescribeRecord(table, key)));
  }
  return std::optional<ByteSpan>(AsBytes(FromVal(v)));
}

// Watch asks ctx.watch about a verified record (`stored` its stored bytes)
// or, with `record` null, an absent key.
Status Watch(const TxnContext& ctx, Table table, std::string_view key, const Record* record,
             ByteSpan stored) {
  if (ctx.watch == nullptr) return Status::Ok();
  if (record == nullptr) return ctx.watch->Check(ctx, table, key, nullptr);
  // Verified, so at least kRecordOverhead long.
  ObservedRecord observed{record->generation, stored.last(std::tuple_size_v<RecordTag>)};
  return ctx.watch->Check(ctx, table, key, &observed);
}

Status RawPut(const TxnContext& ctx, Table table, std::string_view key, ByteSpan value) {
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(AsChars(value));
  return LmdbStatus(mdb_put(ctx.txn, Dbi(ctx, table), &k, &v, 0),
                    "cannot store " + DescribeRecord(table, key), ctx.map_size_bytes);
}

}  // namespace

StatusOr<std::optional<Bytes>> GetStoredBytes(const TxnContext& ctx, Table table,
                                              std::string_view key) {
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> stored, RawGet(ctx, table, key));
  if (!stored) return std::optional<Bytes>();
  return std::optional<Bytes>(Bytes(stored->begin(), stored->end()));
}

Status PutStoredBytes(const TxnContext& ctx, Table table, std::string_view key, ByteSpan stored) {
  SR_RETURN_IF_ERROR(CheckKey(ctx, table, key));
  return RawPut(ctx, table, key, stored);
}

Status DeleteStoredBytes(const TxnContext& ctx, Table table, std::string_view key) {
  SR_RETURN_IF_ERROR(CheckKey(ctx, table, key));
  MDB_val k = ToVal(key);
  int rc = mdb_del(ctx.txn, Dbi(ctx, table), &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return LmdbStatus(rc, "cannot delete " + DescribeRecord(table, key), ctx.map_size_bytes);
}

StatusOr<Record> GetRecord(const TxnContext& ctx, Table table, std::string_view key) {
  SR_ASSIGN_OR_RETURN(const RecordAuthenticator* authenticator, Authenticator(ctx, table));
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> stored, RawGet(ctx, table, key));
  if (!stored) {
    SR_RETURN_IF_ERROR(Watch(ctx, table, key, nullptr, {}));
    return std::unexpected(Status::NotFound("no " + DescribeRecord(table, key)));
  }
  SR_ASSIGN_OR_RETURN(Record record, DecodeVerifiedRecord(*authenticator, table, key, *stored));
  SR_RETURN_IF_ERROR(Watch(ctx, table, key, &record, *stored));
  return record;
}

Status ScanRecords(const TxnContext& ctx, Table table, std::string_view prefix,
                   std::string_view after, const RecordVisitor& visit) {
  SR_ASSIGN_OR_RETURN(const RecordAuthenticator* authenticator, Authenticator(ctx, table));
  // Position at the first key >= max(prefix, after); keys equal to `after`
  // are skipped, keys past the prefix range end the scan.
  std::string_view start = after > prefix ? after : prefix;
  if (!start.empty()) SR_RETURN_IF_ERROR(CheckKey(ctx, table, start));
  SR_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::Open(ctx.txn, Dbi(ctx, table)));
  MDB_val k = ToVal(start);
  MDB_val v{};
  int rc = mdb_cursor_get(cursor.get(), &k, &v, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    // Copied: `visit` may write in this transaction, which can move pages.
    std::string key(FromVal(k));
    if (!key.starts_with(prefix)) return Status::Ok();
    if (!after.empty() && key == after) continue;
    ByteSpan stored = AsBytes(FromVal(v));
    SR_ASSIGN_OR_RETURN(Record record, DecodeVerifiedRecord(*authenticator, table, key, stored));
    SR_RETURN_IF_ERROR(Watch(ctx, table, key, &record, stored));
    if (!visit(key, record)) return Status::Ok();
  }
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return LmdbStatus(rc, "cannot scan table " + std::string(TableName(table)));
}

StatusOr<std::uint64_t> NextGeneration(const TxnContext& ctx, Table table, std::string_view key) {
  StatusOr<Record> current = GetRecord(ctx, table, key);
  if (current.has_value()) return current->generation + 1;
  if (current.error().code() == StatusCode::kNotFound) return std::uint64_t{1};
  return std::unexpected(current.error());
}

StatusOr<std::uint64_t> PutRecord(const TxnContext& ctx, Table table, std::string_view key,
                                  ByteSpan value, DigestDelta& digest, RecordTag* new_tag) {
  SR_ASSIGN_OR_RETURN(const RecordAuthenticator* authenticator, Authenticator(ctx, table));
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> current, RawGet(ctx, table, key));
  std::uint64_t generation = 1;
  std::optional<RecordTag> replaced_tag;
  if (current) {
    // SECURITY: a tampered record is never silently overwritten (see
    // NextGeneration), so the tag subtracted below is one Strongroom wrote.
    SR_ASSIGN_OR_RETURN(Record verified,
                        DecodeVerifiedRecord(*authenticator, table, key, *current));
    // SECURITY: nor is a valid old record put back from outside: the new
    // generation would repeat one Strongroom already used for this key.
    SR_RETURN_IF_ERROR(Watch(ctx, table, key, &verified, *current));
    generation = verified.generation + 1;
    replaced_tag = StoredTag(*current);  // copied: RawPut may move the page
  } else {
    SR_RETURN_IF_ERROR(Watch(ctx, table, key, nullptr, {}));
  }
  SR_ASSIGN_OR_RETURN(Bytes stored, EncodeRecord(*authenticator, table, key, generation, value));
  SR_RETURN_IF_ERROR(RawPut(ctx, table, key, stored));
  if (replaced_tag) digest.Subtract(*replaced_tag);
  RecordTag tag = *StoredTag(stored);  // EncodeRecord's output always holds a tag
  digest.Add(tag);
  if (new_tag != nullptr) *new_tag = tag;
  return generation;
}

Status DeleteRecord(const TxnContext& ctx, Table table, std::string_view key, DigestDelta& digest) {
  if (!IsAuthenticated(table)) {
    return Status::InvalidArgument("Delete of table meta is not allowed");
  }
  // Required although nothing is verified: a change of D must be followed
  // by a refresh of its MAC, which needs the authenticator.
  SR_RETURN_IF_ERROR(Authenticator(ctx, table));
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> current, RawGet(ctx, table, key));
  if (!current) return Status::NotFound("no " + DescribeRecord(table, key));
  std::optional<RecordTag> removed_tag = StoredTag(*current);
  MDB_val k = ToVal(key);
  int rc = mdb_del(ctx.txn, Dbi(ctx, table), &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::NotFound("no " + DescribeRecord(table, key));
  SR_RETURN_IF_ERROR(
      LmdbStatus(rc, "cannot delete " + DescribeRecord(table, key), ctx.map_size_bytes));
  if (removed_tag) digest.Subtract(*removed_tag);
  return Status::Ok();
}

Status SumRecordTags(const TxnContext& ctx, Table table, std::array<std::uint8_t, 32>& sum,
                     std::uint64_t& count, TagIndexContents* collect) {
  SR_ASSIGN_OR_RETURN(const RecordAuthenticator* authenticator, Authenticator(ctx, table));
  SR_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::Open(ctx.txn, Dbi(ctx, table)));
  MDB_val k{};
  MDB_val v{};
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    ByteSpan stored = AsBytes(FromVal(v));
    SR_ASSIGN_OR_RETURN(Record record,
                        DecodeVerifiedRecord(*authenticator, table, FromVal(k), stored));
    RecordTag tag = *StoredTag(stored);  // verified, so long enough to hold a tag
    AddTag(sum, tag);
    ++count;
    if (collect != nullptr) collect->Add(table, FromVal(k), record.generation, tag);
  }
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return LmdbStatus(rc, "cannot scan table " + std::string(TableName(table)));
}

StatusOr<Bytes> GetMetaValue(const TxnContext& ctx, std::string_view key) {
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> stored, RawGet(ctx, Table::kMeta, key));
  if (!stored) return std::unexpected(Status::NotFound("no meta value '" + std::string(key) + "'"));
  return Bytes(stored->begin(), stored->end());
}

Status PutMetaValue(const TxnContext& ctx, std::string_view key, ByteSpan value) {
  SR_RETURN_IF_ERROR(CheckKey(ctx, Table::kMeta, key));
  return RawPut(ctx, Table::kMeta, key, value);
}

StatusOr<std::uint64_t> GetMetaU64(const TxnContext& ctx, std::string_view key) {
  SR_ASSIGN_OR_RETURN(std::optional<ByteSpan> stored, RawGet(ctx, Table::kMeta, key));
  if (!stored) return std::uint64_t{0};
  if (stored->size() != 8) {
    return std::unexpected(Status::Internal("meta value '" + std::string(key) + "' is malformed"));
  }
  ByteReader reader(*stored);
  return *reader.U64("meta value");
}

Status PutMetaU64(const TxnContext& ctx, std::string_view key, std::uint64_t value) {
  ByteWriter out;
  out.U64(value);
  return PutMetaValue(ctx, key, out.bytes());
}

}  // namespace strongroom::storage

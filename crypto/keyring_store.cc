#include "crypto/keyring_store.h"

namespace strongroom::crypto {
namespace {
constexpr std::string_view kMacKeyMetaKey = "record-mac-key";
constexpr std::uint8_t kFormat = 1;
}  // namespace

StatusOr<std::optional<WrappedMacKey>> ReadWrappedMacKey(storage::Store& store) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  StatusOr<Bytes> raw = txn.GetMeta(kMacKeyMetaKey);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) return std::optional<WrappedMacKey>();
    return std::unexpected(raw.error());
  }
  SR_ASSIGN_OR_RETURN(
      WrappedMacKey key,
      DecodeStored<WrappedMacKey>(*raw, "record-MAC key", [](ByteReader& r, WrappedMacKey& out) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
        if (format != kFormat) return Status::InvalidArgument("unknown format");
        SR_ASSIGN_OR_RETURN(out.kek_id, r.Str16("kek id"));
        SR_ASSIGN_OR_RETURN(ByteSpan wrapped, r.Str32("wrapped", 64));
        out.wrapped.assign(wrapped.begin(), wrapped.end());
        return Status::Ok();
      }));
  return std::optional<WrappedMacKey>(std::move(key));
}

Status WriteWrappedMacKey(storage::Store& store, const WrappedMacKey& key) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(key.kek_id);
  w.Str32(key.wrapped);
  Bytes value = w.Take();
  return ToStatus(store.Write("keyring:mac-key", [&](storage::WriteTxn& txn) {
    return txn.PutMeta(kMacKeyMetaKey, value);
  }));
}

Status RecordKekIfMissing(storage::Store& store, const std::string& kek_id,
                          std::int64_t created_micros, bool make_current_if_none) {
  return ToStatus(store.Write("keyring:record-kek", [&](storage::WriteTxn& txn) -> Status {
    StatusOr<storage::Record> existing = txn.Get(storage::Table::kKeks, kek_id);
    if (!existing.has_value()) {
      if (existing.error().code() != StatusCode::kNotFound) return existing.error();
      ByteWriter w;
      w.U8(kFormat);
      w.U64(static_cast<std::uint64_t>(created_micros));
      SR_RETURN_IF_ERROR(txn.Put(storage::Table::kKeks, kek_id, w.bytes()));
    }
    StatusOr<storage::Record> current = txn.Get(storage::Table::kSystem, kCurrentKekKey);
    if (!current.has_value()) {
      if (current.error().code() != StatusCode::kNotFound) return current.error();
      if (make_current_if_none) {
        SR_RETURN_IF_ERROR(txn.Put(storage::Table::kSystem, kCurrentKekKey, AsBytes(kek_id)));
      }
    }
    return Status::Ok();
  }));
}

StatusOr<std::string> ReadCurrentKekId(storage::Store& store) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  StatusOr<storage::Record> current = txn.Get(storage::Table::kSystem, kCurrentKekKey);
  if (!current.has_value()) {
    if (current.error().code() == StatusCode::kNotFound) {
      return std::unexpected(Status::FailedPrecondition("no current KEK recorded; run `strongroom init`"));
    }
    return std::unexpected(current.error());
  }
  return std::string(AsChars(current->value));
}

StatusOr<DataKeyRecord> ReadDataKeyRecord(storage::Store& store, const std::string& id) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  SR_ASSIGN_OR_RETURN(storage::Record record, txn.Get(storage::Table::kDataKeys, id));
  return DecodeDataKeyRecord(record.value);
}

StatusOr<std::int64_t> DecodeKekCreated(ByteSpan value) {
  return DecodeStored<std::int64_t>(value, "KEK row", [](ByteReader& r, std::int64_t& created) -> Status {
    SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
    if (format != kFormat) return Status::InvalidArgument("unknown format");
    SR_ASSIGN_OR_RETURN(std::uint64_t micros, r.U64("created"));
    created = static_cast<std::int64_t>(micros);
    return Status::Ok();
  });
}

}  // namespace strongroom::crypto

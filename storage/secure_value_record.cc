#include "storage/secure_value_record.h"

#include "storage/record_fields.h"

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
constexpr std::size_t kMaxEnvelope = 2u << 20;
}  // namespace

std::string SecureValueKey(std::string_view namespace_name, std::string_view name) {
  return NamespacedKey(namespace_name, name);
}

Bytes EncodeSecureValueRecord(const SecureValueRecord& r) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(r.namespace_name);
  w.Str16(r.name);
  w.Str16(r.uid);
  w.Str16(r.description);
  WriteStringPairs(w, r.labels);
  WriteStrings(w, r.decrypters);
  w.U64(static_cast<std::uint64_t>(r.created_micros));
  w.Str16(r.created_by);
  w.U64(r.resource_version);
  w.Str32(r.envelope);
  return w.Take();
}

StatusOr<SecureValueRecord> DecodeSecureValueRecord(ByteSpan bytes) {
  return DecodeStored<SecureValueRecord>(
      bytes, "secure value row", [](ByteReader& r, SecureValueRecord& out) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
        if (format != kFormat) return Status::InvalidArgument("unknown format");
        SR_ASSIGN_OR_RETURN(out.namespace_name, r.Str16("namespace"));
        SR_ASSIGN_OR_RETURN(out.name, r.Str16("name"));
        SR_ASSIGN_OR_RETURN(out.uid, r.Str16("uid"));
        SR_ASSIGN_OR_RETURN(out.description, r.Str16("description"));
        SR_ASSIGN_OR_RETURN(out.labels, ReadStringPairs(r, "labels"));
        SR_ASSIGN_OR_RETURN(out.decrypters, ReadStrings(r, "decrypters"));
        SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
        out.created_micros = static_cast<std::int64_t>(created);
        SR_ASSIGN_OR_RETURN(out.created_by, r.Str16("created by"));
        SR_ASSIGN_OR_RETURN(out.resource_version, r.U64("resource version"));
        SR_ASSIGN_OR_RETURN(ByteSpan envelope, r.Str32("envelope", kMaxEnvelope));
        out.envelope.assign(envelope.begin(), envelope.end());
        return Status::Ok();
      });
}

StatusOr<std::uint64_t> ReplaceSecureValue(WriteTxn& txn, const SecureValueVersion& read,
                                           SecureValueRecord& replacement) {
  if (replacement.uid != read.uid) {
    return std::unexpected(Status::InvalidArgument("a replace keeps the record's uid"));
  }
  std::string key = SecureValueKey(replacement.namespace_name, replacement.name);
  auto changed = [&key] {
    return std::unexpected(Status::Aborted("secure value " + key + " changed concurrently"));
  };
  StatusOr<Record> raw = txn.Get(Table::kSecureValues, key);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) return changed();  // deleted meanwhile
    return std::unexpected(raw.error());
  }
  SR_ASSIGN_OR_RETURN(SecureValueRecord stored, DecodeSecureValueRecord(raw->value));
  // The generation alone is not enough: a record deleted and created again
  // under the same name starts over at 1 and can climb back to the
  // generation that was read. The uid tells records apart; the
  // resourceVersion tells writes apart (each write has its own).
  if (raw->generation != read.generation || stored.uid != read.uid ||
      stored.resource_version != read.resource_version) {
    return changed();
  }
  replacement.resource_version = txn.resource_version();
  return txn.Put(Table::kSecureValues, key, EncodeSecureValueRecord(replacement));
}

}  // namespace strongroom::storage

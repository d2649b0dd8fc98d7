#include "crypto/data_key_record.h"

namespace strongroom::crypto {
namespace {
constexpr std::uint8_t kFormat = 1;
}

Bytes EncodeDataKeyRecord(const DataKeyRecord& r) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(r.id);
  w.Str16(r.namespace_name);
  w.Str16(r.day);
  w.Str16(r.kek_id);
  w.Str32(r.wrapped);
  w.U64(static_cast<std::uint64_t>(r.created_micros));
  w.U8(r.active ? 1 : 0);
  w.U64(r.reserved_encryptions);
  return w.Take();
}

StatusOr<DataKeyRecord> DecodeDataKeyRecord(ByteSpan bytes) {
  return DecodeStored<DataKeyRecord>(bytes, "data key row", [](ByteReader& r, DataKeyRecord& out) -> Status {
    SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
    if (format != kFormat) return Status::InvalidArgument("unknown format");
    SR_ASSIGN_OR_RETURN(out.id, r.Str16("id"));
    SR_ASSIGN_OR_RETURN(out.namespace_name, r.Str16("namespace"));
    SR_ASSIGN_OR_RETURN(out.day, r.Str16("day"));
    SR_ASSIGN_OR_RETURN(out.kek_id, r.Str16("kek id"));
    SR_ASSIGN_OR_RETURN(ByteSpan wrapped, r.Str32("wrapped key", 64));
    out.wrapped.assign(wrapped.begin(), wrapped.end());
    SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
    out.created_micros = static_cast<std::int64_t>(created);
    SR_ASSIGN_OR_RETURN(std::uint8_t active, r.U8("active"));
    out.active = active == 1;
    SR_ASSIGN_OR_RETURN(out.reserved_encryptions, r.U64("reserved"));
    return Status::Ok();
  });
}

std::string ActiveDataKeyIndexKey(std::string_view namespace_name) {
  return "active-data-key/" + std::string(namespace_name);
}

}  // namespace strongroom::crypto

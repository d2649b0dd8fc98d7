#include "storage/sensu_provider_record.h"

#include "storage/record_fields.h"

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
}  // namespace

Bytes EncodeSensuProviderRecord(const SensuProviderRecord& r) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(r.name);
  w.Str16(r.type);
  WriteStrings(w, r.allow);
  w.Str16(r.created_by);
  w.U64(static_cast<std::uint64_t>(r.updated_micros));
  w.U64(r.resource_version);
  return w.Take();
}

StatusOr<SensuProviderRecord> DecodeSensuProviderRecord(ByteSpan bytes) {
  return DecodeStored<SensuProviderRecord>(
      bytes, "sensu provider row", [](ByteReader& r, SensuProviderRecord& out) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
        if (format != kFormat) return Status::InvalidArgument("unknown format");
        SR_ASSIGN_OR_RETURN(out.name, r.Str16("name"));
        SR_ASSIGN_OR_RETURN(out.type, r.Str16("type"));
        SR_ASSIGN_OR_RETURN(out.allow, ReadStrings(r, "allow"));
        SR_ASSIGN_OR_RETURN(out.created_by, r.Str16("created by"));
        SR_ASSIGN_OR_RETURN(std::uint64_t updated, r.U64("updated"));
        out.updated_micros = static_cast<std::int64_t>(updated);
        SR_ASSIGN_OR_RETURN(out.resource_version, r.U64("resource version"));
        return Status::Ok();
      });
}

}  // namespace strongroom::storage

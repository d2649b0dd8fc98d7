#include "storage/sensu_secret_record.h"

#include "storage/record_fields.h"

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
}  // namespace

std::string SensuSecretKey(std::string_view namespace_name, std::string_view name) {
  return NamespacedKey(namespace_name, name);
}

Bytes EncodeSensuSecretRecord(const SensuSecretRecord& r) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(r.namespace_name);
  w.Str16(r.name);
  w.Str16(r.id);
  w.Str16(r.provider);
  WriteStringPairs(w, r.labels);
  WriteStringPairs(w, r.annotations);
  w.U8(r.decrypters ? 1 : 0);
  if (r.decrypters) WriteStrings(w, *r.decrypters);
  w.Str16(r.created_by);
  w.U64(static_cast<std::uint64_t>(r.updated_micros));
  w.U64(r.resource_version);
  return w.Take();
}

StatusOr<SensuSecretRecord> DecodeSensuSecretRecord(ByteSpan bytes) {
  return DecodeStored<SensuSecretRecord>(
      bytes, "sensu secret row", [](ByteReader& r, SensuSecretRecord& out) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
        if (format != kFormat) return Status::InvalidArgument("unknown format");
        SR_ASSIGN_OR_RETURN(out.namespace_name, r.Str16("namespace"));
        SR_ASSIGN_OR_RETURN(out.name, r.Str16("name"));
        SR_ASSIGN_OR_RETURN(out.id, r.Str16("id"));
        SR_ASSIGN_OR_RETURN(out.provider, r.Str16("provider"));
        SR_ASSIGN_OR_RETURN(out.labels, ReadStringPairs(r, "labels"));
        SR_ASSIGN_OR_RETURN(out.annotations, ReadStringPairs(r, "annotations"));
        SR_ASSIGN_OR_RETURN(std::uint8_t has_decrypters, r.U8("decrypters flag"));
        if (has_decrypters > 1) return Status::InvalidArgument("bad decrypters flag");
        if (has_decrypters == 1) {
          SR_ASSIGN_OR_RETURN(out.decrypters, ReadStrings(r, "decrypters"));
        }
        SR_ASSIGN_OR_RETURN(out.created_by, r.Str16("created by"));
        SR_ASSIGN_OR_RETURN(std::uint64_t updated, r.U64("updated"));
        out.updated_micros = static_cast<std::int64_t>(updated);
        SR_ASSIGN_OR_RETURN(out.resource_version, r.U64("resource version"));
        return Status::Ok();
      });
}

}  // namespace strongroom::storage

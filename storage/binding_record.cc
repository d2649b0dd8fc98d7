#include "storage/binding_record.h"

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
}

std::string BindingPrefix(std::string_view subject_kind, std::string_view subject_name) {
  std::string prefix(subject_kind);
  prefix += '/';
  prefix += subject_name;
  prefix += '/';
  return prefix;
}

std::string BindingKey(const BindingRecord& b) {
  return BindingPrefix(b.subject_kind, b.subject_name) + b.role + "/" + b.namespace_name;
}

Bytes EncodeBindingRecord(const BindingRecord& b) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(b.subject_kind);
  w.Str16(b.subject_name);
  w.Str16(b.role);
  w.Str16(b.namespace_name);
  w.U64(static_cast<std::uint64_t>(b.created_micros));
  return w.Take();
}

StatusOr<BindingRecord> DecodeBindingRecord(ByteSpan bytes) {
  return DecodeStored<BindingRecord>(bytes, "binding row",
                                     [](ByteReader& r, BindingRecord& b) -> Status {
                                       SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
                                       if (format != kFormat)
                                         return Status::InvalidArgument("unknown format");
                                       SR_ASSIGN_OR_RETURN(b.subject_kind, r.Str16("subject kind"));
                                       SR_ASSIGN_OR_RETURN(b.subject_name, r.Str16("subject name"));
                                       SR_ASSIGN_OR_RETURN(b.role, r.Str16("role"));
                                       SR_ASSIGN_OR_RETURN(b.namespace_name, r.Str16("namespace"));
                                       SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
                                       b.created_micros = static_cast<std::int64_t>(created);
                                       return Status::Ok();
                                     });
}

}  // namespace strongroom::storage

#include "storage/user_record.h"

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
}

Bytes EncodeUserRecord(const UserRecord& u) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(u.id);
  w.Str16(u.login);
  w.Str16(u.name);
  w.Str16(u.email);
  w.Str16(u.password_hash);
  w.U8(u.server_admin ? 1 : 0);
  w.U64(static_cast<std::uint64_t>(u.created_micros));
  return w.Take();
}

StatusOr<UserRecord> DecodeUserRecord(ByteSpan bytes) {
  return DecodeStored<UserRecord>(bytes, "user row", [](ByteReader& r, UserRecord& u) -> Status {
    SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
    if (format != kFormat) return Status::InvalidArgument("unknown format");
    SR_ASSIGN_OR_RETURN(u.id, r.Str16("id"));
    SR_ASSIGN_OR_RETURN(u.login, r.Str16("login"));
    SR_ASSIGN_OR_RETURN(u.name, r.Str16("name"));
    SR_ASSIGN_OR_RETURN(u.email, r.Str16("email"));
    SR_ASSIGN_OR_RETURN(u.password_hash, r.Str16("password hash"));
    SR_ASSIGN_OR_RETURN(std::uint8_t admin, r.U8("server admin"));
    u.server_admin = admin == 1;
    SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
    u.created_micros = static_cast<std::int64_t>(created);
    return Status::Ok();
  });
}

}  // namespace strongroom::storage

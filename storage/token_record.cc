#include "storage/token_record.h"

#include <algorithm>

namespace strongroom::storage {
namespace {
constexpr std::uint8_t kFormat = 1;
}

Bytes EncodeTokenRecord(const TokenRecord& t) {
  ByteWriter w;
  w.U8(kFormat);
  w.Str16(t.id);
  w.Str16(t.owner_login);
  w.Str16(t.role);
  w.Str16(t.namespace_name);
  w.Str16(t.description);
  w.Raw(t.secret_sha256);
  w.U64(static_cast<std::uint64_t>(t.created_micros));
  w.U64(static_cast<std::uint64_t>(t.expires_micros));
  w.U64(static_cast<std::uint64_t>(t.revoked_micros));
  return w.Take();
}

StatusOr<TokenRecord> DecodeTokenRecord(ByteSpan bytes) {
  return DecodeStored<TokenRecord>(bytes, "token row", [](ByteReader& r, TokenRecord& t) -> Status {
    SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
    if (format != kFormat) return Status::InvalidArgument("unknown format");
    SR_ASSIGN_OR_RETURN(t.id, r.Str16("id"));
    SR_ASSIGN_OR_RETURN(t.owner_login, r.Str16("owner"));
    SR_ASSIGN_OR_RETURN(t.role, r.Str16("role"));
    SR_ASSIGN_OR_RETURN(t.namespace_name, r.Str16("namespace"));
    SR_ASSIGN_OR_RETURN(t.description, r.Str16("description"));
    SR_ASSIGN_OR_RETURN(ByteSpan hash, r.Raw(t.secret_sha256.size(), "secret hash"));
    std::copy(hash.begin(), hash.end(), t.secret_sha256.begin());
    SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
    SR_ASSIGN_OR_RETURN(std::uint64_t expires, r.U64("expires"));
    SR_ASSIGN_OR_RETURN(std::uint64_t revoked, r.U64("revoked"));
    t.created_micros = static_cast<std::int64_t>(created);
    t.expires_micros = static_cast<std::int64_t>(expires);
    t.revoked_micros = static_cast<std::int64_t>(revoked);
    return Status::Ok();
  });
}

}  // namespace strongroom::storage

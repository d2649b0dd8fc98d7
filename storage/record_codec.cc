#include "storage/record_codec.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "storage/tables.h"

namespace strongroom::storage {

StatusOr<Bytes> EncodeRecord(const RecordAuthenticator& authenticator, Table table,
                             std::string_view key, std::uint64_t generation, ByteSpan value) {
  SR_ASSIGN_OR_RETURN(RecordTag tag, authenticator.Tag(table, key, generation, value));
  ByteWriter out;
  out.bytes().reserve(kRecordOverhead + value.size());
  out.U8(kRecordFormatVersion);
  out.U64(generation);
  out.Raw(value);
  out.Raw(tag);
  return out.Take();
}

StatusOr<Record> DecodeVerifiedRecord(const RecordAuthenticator& authenticator, Table table,
                                      std::string_view key, ByteSpan stored) {
  auto malformed = [&](std::string_view why) {
    return std::unexpected(Status::IntegrityError(DescribeRecord(table, key) +
                                                  " is malformed (" + std::string(why) + ")"));
  };
  if (stored.size() < kRecordOverhead) return malformed("too short");
  if (stored[0] != kRecordFormatVersion) return malformed("unknown format version");
  ByteReader reader(stored.subspan(1));
  std::uint64_t generation = *reader.U64("generation");  // length checked above
  if (generation == 0) return malformed("generation 0");
  const std::size_t tag_size = std::tuple_size_v<RecordTag>;
  ByteSpan value = stored.subspan(9, stored.size() - kRecordOverhead);
  ByteSpan stored_tag = stored.subspan(stored.size() - tag_size);

  SR_ASSIGN_OR_RETURN(RecordTag expected, authenticator.Tag(table, key, generation, value));
  // SECURITY: constant-time comparison, so timing does not reveal how many
  // leading tag bytes an attacker got right.
  if (CRYPTO_memcmp(expected.data(), stored_tag.data(), tag_size) != 0) {
    return std::unexpected(
        Status::IntegrityError(DescribeRecord(table, key) + " failed MAC verification"));
  }
  return Record{Bytes(value.begin(), value.end()), generation};
}

std::optional<RecordTag> StoredTag(ByteSpan stored) {
  if (stored.size() < kRecordOverhead) return std::nullopt;
  RecordTag tag{};
  std::copy(stored.end() - tag.size(), stored.end(), tag.begin());
  return tag;
}

}  // namespace strongroom::storage

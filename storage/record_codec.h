// storage/record_codec.h — private to storage/: the on-disk form of a record
// in an authenticated table, and its verification.
//
//   u8  format version (kRecordFormatVersion)
//   u64 generation (big-endian, >= 1)
//   ... value
//   32  MAC = RecordAuthenticator::Tag(table, key, generation, value)
//
// SECURITY: the MAC covers the table and key (which are not in the stored
// bytes), so a record copied to another key or table fails; it covers the
// generation, so an older value relabelled with the current generation
// fails. A record is never returned before its MAC is checked.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

inline constexpr std::uint8_t kRecordFormatVersion = 1;
// kRecordOverhead is the stored size of a record with an empty value.
inline constexpr std::size_t kRecordOverhead = 1 + 8 + std::tuple_size_v<RecordTag>;

// EncodeRecord returns the stored form of (generation, value), tagged by
// `authenticator` for (table, key). Errors: those of the authenticator.
StatusOr<Bytes> EncodeRecord(const RecordAuthenticator& authenticator, Table table,
                             std::string_view key, std::uint64_t generation, ByteSpan value);

// DecodeVerifiedRecord parses `stored` and checks its MAC for (table, key).
// kIntegrityError (naming table and key, never the value) when the bytes are
// malformed or the MAC does not match; the authenticator's error when it
// cannot compute a tag.
StatusOr<Record> DecodeVerifiedRecord(const RecordAuthenticator& authenticator, Table table,
                                      std::string_view key, ByteSpan stored);

// StoredTag returns the MAC bytes of a stored record (its last 32 bytes),
// unverified, or nullopt when `stored` is shorter than kRecordOverhead. The
// store digest (store_digest.h) sums these.
std::optional<RecordTag> StoredTag(ByteSpan stored);

}  // namespace strongroom::storage

// storage/store_digest.h — private to storage/: the store-wide digest that
// makes an offline swap-in, removal or insertion of a whole record visible.
//
// D (kMeta "store_digest", 32 bytes) is the sum modulo 2^256, as big-endian
// unsigned integers, of the stored MAC tag of every live record in every
// authenticated table. Each Write() applies the change it made to D in its
// own nested transaction (WriteTxn::Impl::Finish), so an aborted write leaves
// D untouched. kMeta "store_digest_mac" is RecordAuthenticator::Tag(kMeta,
// "store_digest", resourceVersion, D), refreshed once per committed batch
// when an authenticator is set; it binds D to the resourceVersion.
//
// SECURITY: a per-record MAC proves a record was once written by Strongroom,
// not that it is the current one. A valid old record put back changes the
// sum of the live tags, so it no longer equals D; editing D instead breaks
// the MAC over D. An absent D (or D's MAC) is accepted only for a store with
// no authenticated record (a new store, or one bootstrapped before the
// authenticator existed). Thread-safety: DigestDelta is a plain value; the
// functions use the caller's transaction.
#pragma once

#include <array>
#include <cstdint>

#include "base/status.h"
#include "storage/record_io.h"
#include "storage/storage.h"

namespace strongroom::storage {

// StoreDigest is a 256-bit big-endian unsigned integer.
using StoreDigest = std::array<std::uint8_t, 32>;
static_assert(sizeof(StoreDigest) == sizeof(RecordTag));

// AddTag sets digest = digest + tag (mod 2^256).
void AddTag(StoreDigest& digest, const RecordTag& tag);
// SubtractTag sets digest = digest - tag (mod 2^256).
void SubtractTag(StoreDigest& digest, const RecordTag& tag);

// DigestDelta is what one Write() adds to D: tags of records it stored minus
// tags of records it replaced or deleted.
class DigestDelta {
 public:
  void Add(const RecordTag& tag) {
    AddTag(delta_, tag);
    changed_ = true;
  }
  void Subtract(const RecordTag& tag) {
    SubtractTag(delta_, tag);
    changed_ = true;
  }
  bool changed() const { return changed_; }
  const StoreDigest& value() const { return delta_; }

 private:
  StoreDigest delta_{};
  bool changed_ = false;
};

// ApplyDigestDelta adds `delta` to the stored D (absent: 0) in `ctx`'s write
// transaction. kIntegrityError when the stored D is not 32 bytes.
Status ApplyDigestDelta(const TxnContext& ctx, const DigestDelta& delta);

// RefreshDigestMac stores Tag(kMeta, "store_digest", resource_version, D)
// (D absent: 0). REQUIRES: a write transaction and ctx.authenticator set.
Status RefreshDigestMac(const TxnContext& ctx, std::uint64_t resource_version);

// VerifyDigest implements Store::VerifyIntegrity in `ctx`'s snapshot; when
// `collect` is non-null the scan also adds every record to it (the tag
// index is built from the same scan). REQUIRES: ctx.authenticator set.
Status VerifyDigest(const TxnContext& ctx, TagIndexContents* collect = nullptr);

}  // namespace strongroom::storage

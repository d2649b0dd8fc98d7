#include "storage/store_digest.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <optional>
#include <string>

#include "storage/lmdb_env.h"
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

constexpr StoreDigest kZeroDigest{};

// Tampered returns the error of a store changed behind Strongroom's back.
// SECURITY: `why` names keys and counters only, never a value or a tag.
Status Tampered(std::string_view why) {
  return Status::IntegrityError(
      "the store was modified outside Strongroom (an old record put back, a record removed or "
      "added, or the store digest edited): " +
      std::string(why));
}

// ReadDigestValue returns the stored 32-byte kMeta value under `key`, or
// nullopt when absent; kIntegrityError when it has another length.
StatusOr<std::optional<StoreDigest>> ReadDigestValue(const TxnContext& ctx, std::string_view key) {
  StatusOr<Bytes> stored = GetMetaValue(ctx, key);
  if (!stored.has_value()) {
    if (stored.error().code() == StatusCode::kNotFound) return std::optional<StoreDigest>();
    return std::unexpected(stored.error());
  }
  StoreDigest out{};
  if (stored->size() != out.size()) {
    return std::unexpected(Tampered("meta value '" + std::string(key) + "' is malformed"));
  }
  std::copy(stored->begin(), stored->end(), out.begin());
  return std::optional<StoreDigest>(out);
}

StatusOr<RecordTag> DigestMac(const RecordAuthenticator& authenticator,
                              std::uint64_t resource_version, const StoreDigest& digest) {
  // kMeta holds no records, so no record tag is ever computed under it: this
  // MAC cannot be confused with (or replaced by) a record's.
  return authenticator.Tag(Table::kMeta, kStoreDigestKey, resource_version, digest);
}

}  // namespace

void AddTag(StoreDigest& digest, const RecordTag& tag) {
  unsigned carry = 0;
  for (std::size_t i = digest.size(); i-- > 0;) {
    unsigned sum = unsigned{digest[i]} + unsigned{tag[i]} + carry;
    digest[i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
}

void SubtractTag(StoreDigest& digest, const RecordTag& tag) {
  unsigned borrow = 0;
  for (std::size_t i = digest.size(); i-- > 0;) {
    unsigned subtrahend = unsigned{tag[i]} + borrow;
    unsigned minuend = digest[i];
    borrow = minuend < subtrahend ? 1 : 0;
    digest[i] = static_cast<std::uint8_t>(minuend + (borrow << 8) - subtrahend);
  }
}

Status ApplyDigestDelta(const TxnContext& ctx, const DigestDelta& delta) {
  SR_ASSIGN_OR_RETURN(std::optional<StoreDigest> stored, ReadDigestValue(ctx, kStoreDigestKey));
  StoreDigest digest = stored.value_or(kZeroDigest);
  AddTag(digest, delta.value());
  return PutMetaValue(ctx, kStoreDigestKey, digest);
}

Status RefreshDigestMac(const TxnContext& ctx, std::uint64_t resource_version) {
  SR_ASSIGN_OR_RETURN(std::optional<StoreDigest> stored, ReadDigestValue(ctx, kStoreDigestKey));
  SR_ASSIGN_OR_RETURN(
      RecordTag mac, DigestMac(*ctx.authenticator, resource_version, stored.value_or(kZeroDigest)));
  return PutMetaValue(ctx, kStoreDigestMacKey, mac);
}

Status VerifyDigest(const TxnContext& ctx, TagIndexContents* collect) {
  StoreDigest computed{};
  std::uint64_t records = 0;
  for (Table table : kAllTables) {
    if (!IsAuthenticated(table)) continue;
    Status summed = SumRecordTags(ctx, table, computed, records, collect);
    if (summed.code() == StatusCode::kIntegrityError) return Tampered(summed.message());
    SR_RETURN_IF_ERROR(summed);
  }
  SR_ASSIGN_OR_RETURN(std::optional<StoreDigest> stored, ReadDigestValue(ctx, kStoreDigestKey));
  SR_ASSIGN_OR_RETURN(std::optional<StoreDigest> mac, ReadDigestValue(ctx, kStoreDigestMacKey));
  SR_ASSIGN_OR_RETURN(std::uint64_t resource_version, GetMetaU64(ctx, kResourceVersionKey));

  if (!stored.has_value() && records > 0) {
    return Tampered("the store digest is missing although the store holds " +
                    std::to_string(records) + " records");
  }
  const StoreDigest digest = stored.value_or(kZeroDigest);
  if (CRYPTO_memcmp(digest.data(), computed.data(), digest.size()) != 0) {
    return Tampered("the records do not match the store digest");
  }
  if (!mac.has_value()) {
    // Only a store that never held an authenticated record may lack it
    // (kMeta is written before the authenticator exists).
    if (records == 0 && CRYPTO_memcmp(digest.data(), kZeroDigest.data(), digest.size()) == 0) {
      return Status::Ok();
    }
    return Tampered("the store digest's MAC is missing");
  }
  SR_ASSIGN_OR_RETURN(RecordTag expected, DigestMac(*ctx.authenticator, resource_version, digest));
  if (CRYPTO_memcmp(expected.data(), mac->data(), expected.size()) != 0) {
    return Tampered("the store digest's MAC does not verify for resourceVersion " +
                    std::to_string(resource_version));
  }
  return Status::Ok();
}

Status Store::VerifyIntegrity() const {
  std::shared_ptr<const RecordAuthenticator> authenticator = impl_->Authenticator();
  if (authenticator == nullptr) {
    return Status::FailedPrecondition(
        "no record authenticator is set; the store's integrity cannot be verified");
  }
  StatusOr<std::uint64_t> verified = impl_->watch->Verify(*authenticator);
  if (!verified.has_value()) return verified.error();
  return Status::Ok();
}

}  // namespace strongroom::storage

// WriteTxn: the writer thread's view inside one Write() call. Every method
// works in that call's nested LMDB transaction, so it sees its own changes.
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {

Status WriteTxn::Impl::Remember(Status status) {
  // kResourceExhausted (map full or nearly full) and kInternal (an LMDB
  // failure) fail the whole write even if `fn` ignores them: LMDB may have
  // marked the transaction unusable, and a write must not half-happen
  // because the store ran out of room. Validation and authenticator errors
  // leave the transaction intact and are `fn`'s to handle.
  bool storage_failure = status.code() == StatusCode::kResourceExhausted ||
                         status.code() == StatusCode::kInternal;
  if (storage_failure && first_failure.ok()) first_failure = status;
  return status;
}

Status WriteTxn::Impl::Finish() {
  if (!first_failure.ok()) return first_failure;
  SR_RETURN_IF_ERROR(PutMetaU64(context, kResourceVersionKey, resource_version));
  for (std::size_t i = 0; i < bumps.size(); ++i) {
    if (!bumps[i]) continue;
    std::string_view key = GenerationKey(static_cast<CacheKind>(i));
    SR_ASSIGN_OR_RETURN(std::uint64_t generation, GetMetaU64(context, key));
    SR_RETURN_IF_ERROR(PutMetaU64(context, key, generation + 1));
    meta_keys.emplace_back(key);
  }
  // In this write's own nested transaction: if it aborts, D is untouched.
  if (digest_delta.changed()) SR_RETURN_IF_ERROR(ApplyDigestDelta(context, digest_delta));
  return Status::Ok();
}

StatusOr<Record> WriteTxn::Get(Table table, std::string_view key) const {
  return GetRecord(impl_->context, table, key);
}

Status WriteTxn::Scan(Table table, std::string_view prefix, std::string_view after,
                      const std::function<bool(std::string_view, const Record&)>& visit) const {
  return ScanRecords(impl_->context, table, prefix, after, visit);
}

StatusOr<Bytes> WriteTxn::GetMeta(std::string_view key) const {
  return GetMetaValue(impl_->context, key);
}

StatusOr<std::uint64_t> WriteTxn::NextGeneration(Table table, std::string_view key) const {
  return storage::NextGeneration(impl_->context, table, key);
}

StatusOr<std::uint64_t> WriteTxn::Put(Table table, std::string_view key, ByteSpan value) {
  if (!impl_->low_space.ok()) return std::unexpected(impl_->Remember(impl_->low_space));
  RecordTag tag{};
  StatusOr<std::uint64_t> generation =
      PutRecord(impl_->context, table, key, value, impl_->digest_delta, &tag);
  if (!generation.has_value()) return std::unexpected(impl_->Remember(generation.error()));
  impl_->changes.push_back(TagChange{table, std::string(key), *generation, TruncateTag(tag), false,
                                     impl_->resource_version});
  return generation;
}

Status WriteTxn::Delete(Table table, std::string_view key) {
  Status deleted = impl_->Remember(DeleteRecord(impl_->context, table, key, impl_->digest_delta));
  if (deleted.ok()) {
    impl_->changes.push_back(
        TagChange{table, std::string(key), 0, IndexedTag{}, true, impl_->resource_version});
  }
  return deleted;
}

Status WriteTxn::PutMeta(std::string_view key, ByteSpan value) {
  if (IsReservedMetaKey(key)) {
    return Status::InvalidArgument("meta key '" + std::string(key) +
                                   "' is maintained by the store");
  }
  if (!impl_->low_space.ok()) return impl_->Remember(impl_->low_space);
  Status stored = impl_->Remember(PutMetaValue(impl_->context, key, value));
  if (stored.ok()) impl_->meta_keys.emplace_back(key);
  return stored;
}

void WriteTxn::BumpGeneration(CacheKind kind) {
  impl_->bumps[static_cast<std::size_t>(kind)] = true;
}

std::uint64_t WriteTxn::resource_version() const { return impl_->resource_version; }

}  // namespace strongroom::storage

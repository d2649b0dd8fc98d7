// The replication seam (replication.h): the writer's hand-over of a staged
// batch to the replicator, and the verified application of the cluster's
// batches into the replica.
#include "storage/replication.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/lmdb_env.h"
#include "storage/record_codec.h"
#include "storage/store_digest.h"
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// DigestRecord is a decoded digest record (replication.h).
struct DigestRecord {
  StoreDigest digest{};
  std::uint64_t resource_version = 0;
  RecordTag mac{};
};

Bytes EncodeDigestRecord(const DigestRecord& record) {
  ByteWriter out;
  out.Raw(record.digest);
  out.U64(record.resource_version);
  out.Raw(record.mac);
  return out.bytes();
}

StatusOr<DigestRecord> DecodeDigestRecord(ByteSpan stored) {
  if (stored.size() != kDigestRecordSize) {
    return std::unexpected(Status::IntegrityError("the replicated store digest record is " +
                                                  std::to_string(stored.size()) +
                                                  " bytes, not " +
                                                  std::to_string(kDigestRecordSize)));
  }
  DigestRecord record;
  std::copy_n(stored.begin(), 32, record.digest.begin());
  ByteReader reader(stored.subspan(32, 8));
  record.resource_version = *reader.U64("resourceVersion");
  std::copy_n(stored.begin() + 40, 32, record.mac.begin());
  return record;
}

// ReadDigest returns the stored D (absent: zero).
StatusOr<StoreDigest> ReadDigest(const TxnContext& ctx) {
  StatusOr<Bytes> stored = GetMetaValue(ctx, kStoreDigestKey);
  StoreDigest digest{};
  if (!stored.has_value()) {
    if (stored.error().code() == StatusCode::kNotFound) return digest;
    return std::unexpected(stored.error());
  }
  if (stored->size() != digest.size()) {
    return std::unexpected(Status::IntegrityError("the store digest is malformed"));
  }
  std::copy(stored->begin(), stored->end(), digest.begin());
  return digest;
}

Status Refused(std::string_view why) {
  return Status::IntegrityError("a replicated batch was refused (nothing applied): " +
                                std::string(why));
}

// VerifiedDigestRecord decodes a batch's digest record and checks its MAC
// and that its resourceVersion is above `start_rv` (kFull: not below).
StatusOr<DigestRecord> VerifiedDigestRecord(const RecordAuthenticator& authenticator,
                                            ByteSpan stored, std::uint64_t start_rv,
                                            ApplyMode mode) {
  SR_ASSIGN_OR_RETURN(DigestRecord digest, DecodeDigestRecord(stored));
  // SECURITY: resourceVersion never goes back (an old digest record with its
  // valid MAC, replayed with the records it matched, is refused here).
  const bool advances = mode == ApplyMode::kFull ? digest.resource_version >= start_rv
                                                 : digest.resource_version > start_rv;
  if (!advances) {
    return std::unexpected(Refused("its resourceVersion " +
                                   std::to_string(digest.resource_version) +
                                   " is not above the replica's " + std::to_string(start_rv)));
  }
  SR_ASSIGN_OR_RETURN(RecordTag expected_mac,
                      authenticator.Tag(Table::kMeta, kStoreDigestKey, digest.resource_version,
                                        digest.digest));
  if (CRYPTO_memcmp(expected_mac.data(), digest.mac.data(), expected_mac.size()) != 0) {
    return std::unexpected(Refused("the store digest's MAC does not verify for resourceVersion " +
                                   std::to_string(digest.resource_version)));
  }
  return digest;
}

// ForEachReplicated visits, table by table in key order, every value the
// cluster replicates as it is stored (records with their MAC tags, kMeta
// values but the cache counters). The views are valid only during the call.
Status ForEachReplicated(const TxnContext& ctx,
                         const std::function<void(Table, std::string_view, ByteSpan)>& visit) {
  for (Table table : kAllTables) {
    SR_ASSIGN_OR_RETURN(LmdbCursor cursor,
                        LmdbCursor::Open(ctx.txn, (*ctx.tables)[static_cast<int>(table)]));
    MDB_val k{};
    MDB_val v{};
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      std::string_view key = FromVal(k);
      if (table == Table::kMeta && IsCounterMetaKey(key)) continue;
      visit(table, key, AsBytes(FromVal(v)));
    }
    if (rc != MDB_NOTFOUND) {
      return LmdbStatus(rc, "cannot scan table " + std::string(TableName(table)));
    }
  }
  return Status::Ok();
}

// Applier applies one batch inside one write transaction, keeping D's delta
// and the tag index's changes.
class Applier {
 public:
  Applier(const TxnContext& ctx, const RecordAuthenticator& authenticator, std::uint64_t rv)
      : ctx_(ctx), authenticator_(authenticator), rv_(rv) {}

  Status Apply(const ReplicatedChange& change) {
    if (change.table == Table::kMeta) {
      if (IsCounterMetaKey(change.key)) {
        return Refused("it sets the store-maintained meta value '" + change.key + "'");
      }
      if (change.value) return PutMetaValue(ctx_, change.key, *change.value);
      return DeleteStoredBytes(ctx_, Table::kMeta, change.key);
    }
    SR_ASSIGN_OR_RETURN(std::optional<Bytes> current, GetStoredBytes(ctx_, change.table, change.key));
    if (!change.value) {
      if (!current) return Refused("it deletes a " + DescribeRecord(change.table, change.key) +
                                   " this replica does not hold");
      return Remove(change.table, change.key, *current);
    }
    // SECURITY: a record is applied only once its MAC verifies.
    StatusOr<Record> verified =
        DecodeVerifiedRecord(authenticator_, change.table, change.key, *change.value);
    if (!verified.has_value()) {
      if (verified.error().code() == StatusCode::kIntegrityError) {
        return Refused(verified.error().message());
      }
      return verified.error();
    }
    SR_RETURN_IF_ERROR(PutStoredBytes(ctx_, change.table, change.key, *change.value));
    if (current) {
      if (std::optional<RecordTag> old = StoredTag(*current)) delta_.Subtract(*old);
    }
    RecordTag tag = *StoredTag(*change.value);  // verified, so it holds one
    delta_.Add(tag);
    changes_.push_back(TagChange{change.table, change.key, verified->generation, TruncateTag(tag),
                                 false, rv_});
    return Status::Ok();
  }

  // RemoveAllBut deletes every record and non-counter kMeta value whose key
  // is not in `keep` (ApplyMode::kFull).
  Status RemoveAllBut(const std::set<std::pair<Table, std::string>>& keep) {
    struct Doomed {
      Table table;
      std::string key;
      Bytes stored;
    };
    std::vector<Doomed> doomed;
    SR_RETURN_IF_ERROR(
        ForEachReplicated(ctx_, [&](Table table, std::string_view key, ByteSpan stored) {
          std::string owned(key);
          if (keep.contains({table, owned})) return;
          if (table == Table::kMeta && key == kSchemaVersionKey) return;
          doomed.push_back({table, std::move(owned), Bytes(stored.begin(), stored.end())});
        }));
    for (const Doomed& d : doomed) {
      if (d.table == Table::kMeta) {
        SR_RETURN_IF_ERROR(DeleteStoredBytes(ctx_, d.table, d.key));
      } else {
        SR_RETURN_IF_ERROR(Remove(d.table, d.key, d.stored));
      }
    }
    return Status::Ok();
  }

  const DigestDelta& delta() const { return delta_; }
  const std::vector<TagChange>& changes() const { return changes_; }

 private:
  Status Remove(Table table, const std::string& key, const Bytes& current) {
    SR_RETURN_IF_ERROR(DeleteStoredBytes(ctx_, table, key));
    if (std::optional<RecordTag> old = StoredTag(current)) delta_.Subtract(*old);
    changes_.push_back(TagChange{table, key, 0, IndexedTag{}, true, rv_});
    return Status::Ok();
  }

  const TxnContext& ctx_;
  const RecordAuthenticator& authenticator_;
  const std::uint64_t rv_;
  DigestDelta delta_;
  std::vector<TagChange> changes_;
};

}  // namespace

StatusOr<std::uint64_t> DigestRecordVersion(ByteSpan digest_record) {
  SR_ASSIGN_OR_RETURN(DigestRecord record, DecodeDigestRecord(digest_record));
  return record.resource_version;
}

void Store::SetReplicator(std::shared_ptr<BatchReplicator> replicator) {
  std::lock_guard lock(impl_->config_mutex);
  impl_->replicator = std::move(replicator);
}

std::int64_t Store::replica_revision() const {
  std::lock_guard lock(impl_->replica_mu);
  return impl_->replica_revision;
}

Status Store::ApplyReplicated(const ReplicatedBatch& batch, std::int64_t revision,
                              ApplyMode mode) {
  std::shared_ptr<const RecordAuthenticator> authenticator = impl_->Authenticator();
  if (authenticator == nullptr) {
    return Status::FailedPrecondition("no record authenticator is set; a replicated batch "
                                      "cannot be verified");
  }
  std::lock_guard apply_lock(impl_->apply_mu);
  const std::size_t map_size = impl_->env->map_size_bytes();
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(impl_->env->env(), nullptr, 0, map_size));
  TxnContext ctx{txn.get(), &impl_->env->tables(), authenticator.get(), map_size};
  SR_ASSIGN_OR_RETURN(std::uint64_t applied, GetMetaU64(ctx, kReplicaRevisionKey));
  if (revision < 0) return Status::InvalidArgument("negative cluster revision");
  const auto target = static_cast<std::uint64_t>(revision);
  if (mode == ApplyMode::kIncremental && target <= applied) return Status::Ok();
  if (mode == ApplyMode::kFull && target < applied) {
    return Refused("the cluster's state at revision " + std::to_string(target) +
                   " is older than revision " + std::to_string(applied) +
                   " this replica already applied");
  }
  SR_ASSIGN_OR_RETURN(std::uint64_t start_rv, GetMetaU64(ctx, kResourceVersionKey));
  SR_ASSIGN_OR_RETURN(DigestRecord digest,
                      VerifiedDigestRecord(*authenticator, batch.digest_record, start_rv, mode));

  Applier applier(ctx, *authenticator, digest.resource_version);
  std::set<std::pair<Table, std::string>> keys;
  for (const ReplicatedChange& change : batch.changes) {
    if (!keys.emplace(change.table, change.key).second) {
      return Refused("it names " + DescribeRecord(change.table, change.key) + " twice");
    }
    SR_RETURN_IF_ERROR(applier.Apply(change));
  }
  if (mode == ApplyMode::kFull) SR_RETURN_IF_ERROR(applier.RemoveAllBut(keys));
  // SECURITY: the records must add up to the digest the batch carries: an
  // old valid record put back, or one left out, changes the sum.
  SR_ASSIGN_OR_RETURN(StoreDigest computed, ReadDigest(ctx));
  AddTag(computed, applier.delta().value());
  if (CRYPTO_memcmp(computed.data(), digest.digest.data(), computed.size()) != 0) {
    return Refused("the records do not match the store digest of resourceVersion " +
                   std::to_string(digest.resource_version));
  }
  SR_RETURN_IF_ERROR(PutMetaValue(ctx, kStoreDigestKey, digest.digest));
  SR_RETURN_IF_ERROR(PutMetaValue(ctx, kStoreDigestMacKey, digest.mac));
  SR_RETURN_IF_ERROR(PutMetaU64(ctx, kResourceVersionKey, digest.resource_version));
  SR_RETURN_IF_ERROR(PutMetaU64(ctx, kReplicaRevisionKey, target));

  impl_->watch->BeginCommit(digest.resource_version);
  Status committed = txn.Commit(map_size);
  impl_->watch->EndCommit(committed, start_rv, digest.resource_version, applier.changes());
  SR_RETURN_IF_ERROR(committed);
  {
    std::lock_guard lock(impl_->replica_mu);
    impl_->replica_revision = revision;
  }
  impl_->replica_cv.notify_all();
  return Status::Ok();
}

StatusOr<ReplicatedBatch> Store::ExportReplica() const {
  std::shared_ptr<const RecordAuthenticator> authenticator = impl_->Authenticator();
  if (authenticator == nullptr) {
    return std::unexpected(Status::FailedPrecondition(
        "no record authenticator is set; the store cannot be exported"));
  }
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(impl_->env->env(), nullptr, MDB_RDONLY));
  TxnContext ctx{txn.get(), &impl_->env->tables(), authenticator.get(),
                 impl_->env->map_size_bytes()};
  SR_RETURN_IF_ERROR(VerifyDigest(ctx));
  ReplicatedBatch batch;
  SR_RETURN_IF_ERROR(
      ForEachReplicated(ctx, [&](Table table, std::string_view key, ByteSpan stored) {
        batch.changes.push_back(
            ReplicatedChange{table, std::string(key), Bytes(stored.begin(), stored.end())});
      }));
  DigestRecord digest;
  SR_ASSIGN_OR_RETURN(digest.digest, ReadDigest(ctx));
  SR_ASSIGN_OR_RETURN(digest.resource_version, GetMetaU64(ctx, kResourceVersionKey));
  SR_ASSIGN_OR_RETURN(digest.mac, authenticator->Tag(Table::kMeta, kStoreDigestKey,
                                                     digest.resource_version, digest.digest));
  batch.digest_record = EncodeDigestRecord(digest);
  return batch;
}

Status Store::Impl::WaitApplied(std::int64_t revision, std::chrono::milliseconds timeout) {
  std::unique_lock lock(replica_mu);
  const bool reached = replica_cv.wait_for(
      lock, timeout, [&] { return closing || replica_revision >= revision; });
  if (replica_revision >= revision) return Status::Ok();
  if (!reached || closing) {
    return Status::Unavailable("this node has not applied cluster revision " +
                               std::to_string(revision) + " within " +
                               std::to_string(timeout.count()) + " ms");
  }
  return Status::Ok();
}

Status Store::Impl::ReplicateStaged(BatchReplicator& batch_replicator, LmdbTxn& parent,
                                    const TxnContext& parent_context, const BatchChanges& changes,
                                    const std::vector<std::string>& meta_keys,
                                    std::uint64_t resource_version, std::int64_t base_revision,
                                    const CommitOutcomeHook& outcome_hook, bool& conflict) {
  // The batch's net changes, read back from the staged parent transaction.
  ReplicatedBatch batch;
  batch.base_revision = base_revision;
  batch.deadline = batch_deadline;
  std::set<std::pair<Table, std::string>> seen;
  for (const TagChange& change : changes.changes) {
    if (!seen.emplace(change.table, change.key).second) continue;
    StatusOr<std::optional<Bytes>> stored = GetStoredBytes(parent_context, change.table, change.key);
    if (!stored.has_value()) return BatchFailure(stored.error());
    batch.changes.push_back(ReplicatedChange{change.table, change.key, std::move(*stored)});
  }
  for (const std::string& key : meta_keys) {
    if (!seen.emplace(Table::kMeta, key).second) continue;
    StatusOr<std::optional<Bytes>> stored = GetStoredBytes(parent_context, Table::kMeta, key);
    if (!stored.has_value()) return BatchFailure(stored.error());
    batch.changes.push_back(ReplicatedChange{Table::kMeta, key, std::move(*stored)});
  }
  DigestRecord digest;
  digest.resource_version = resource_version;
  StatusOr<StoreDigest> d = ReadDigest(parent_context);
  if (!d.has_value()) return BatchFailure(d.error());
  digest.digest = *d;
  StatusOr<Bytes> mac = GetMetaValue(parent_context, kStoreDigestMacKey);
  if (!mac.has_value() || mac->size() != digest.mac.size()) {
    return BatchFailure(Status::FailedPrecondition(
        "replicated mode needs the record authenticator (no store digest MAC was staged)"));
  }
  std::copy(mac->begin(), mac->end(), digest.mac.begin());
  batch.digest_record = EncodeDigestRecord(digest);
  // Nothing reaches LMDB except through ApplyReplicated.
  parent.Abort();

  StatusOr<ReplicatedCommit> outcome = batch_replicator.Commit(batch);
  if (!outcome.has_value() || !outcome->committed) abandoned_version = resource_version;
  if (!outcome.has_value()) {
    if (outcome_hook) outcome_hook(outcome.error());
    return BatchFailure(outcome.error());
  }
  if (outcome->too_large) {
    // Nothing was sent: the writer splits the batch (write_batch.cc).
    if (outcome_hook) outcome_hook(Status::Aborted("the batch is split and staged again"));
    batch_too_large = true;
    return Status::Ok();
  }
  if (!outcome->committed) {
    if (outcome_hook) {
      outcome_hook(Status::Aborted("another node committed first; the batch is staged again"));
    }
    SR_RETURN_IF_ERROR(WaitApplied(outcome->revision, ConflictWait(batch_replicator)));
    conflict = true;
    return Status::Ok();
  }
  if (outcome_hook) outcome_hook(Status::Ok());
  // Read-your-writes: the callers are answered once this node applied it.
  Status applied = WaitApplied(outcome->revision, batch_replicator.apply_timeout());
  if (!applied.ok()) {
    return Status::Unavailable("the write was committed in the cluster at revision " +
                               std::to_string(outcome->revision) + " but " + applied.message());
  }
  return Status::Ok();
}

}  // namespace strongroom::storage

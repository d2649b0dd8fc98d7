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

// kReplicatedStateKey names the digest record's MAC (StateTag).
constexpr std::string_view kReplicatedStateKey = "replicated_state";

Status Refused(std::string_view why) {
  return Status::IntegrityError("a replicated batch was refused (nothing applied): " +
                                std::string(why));
}

// CheckAdvances refuses a digest record whose resourceVersion does not
// advance the replica's `start_rv` (kFull: is below it, or below
// `trusted_floor`).
Status CheckAdvances(std::uint64_t resource_version, std::uint64_t start_rv, ApplyMode mode,
                     std::uint64_t trusted_floor) {
  // SECURITY: resourceVersion never goes back (an old digest record with its
  // valid MAC, replayed with the records it matched, is refused here).
  const bool advances = mode == ApplyMode::kReplace ||
                        (mode == ApplyMode::kFull ? resource_version >= start_rv
                                                  : resource_version > start_rv);
  if (!advances) {
    return Refused("its resourceVersion " + std::to_string(resource_version) +
                   " is not above the replica's " + std::to_string(start_rv));
  }
  // SECURITY: every old digest record stays MAC-valid, so a full read of a
  // fresh or long-away node could otherwise be served any past state; the
  // floor comes from outside etcd (the token anchors).
  if (mode != ApplyMode::kIncremental && resource_version < trusted_floor) {
    return Refused("its resourceVersion " + std::to_string(resource_version) +
                   " is below the trusted floor " + std::to_string(trusted_floor) +
                   " (a rolled-back cluster state)");
  }
  return Status::Ok();
}

// ForEachReplicatedIn visits, in key order, every value of `table` the
// cluster replicates as it is stored (records with their MAC tags; for
// kMeta every value but the cache counters). The views are valid only
// during the call.
Status ForEachReplicatedIn(const TxnContext& ctx, Table table,
                           const std::function<void(std::string_view, ByteSpan)>& visit) {
  SR_ASSIGN_OR_RETURN(LmdbCursor cursor,
                      LmdbCursor::Open(ctx.txn, (*ctx.tables)[static_cast<int>(table)]));
  MDB_val k{};
  MDB_val v{};
  int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
    std::string_view key = FromVal(k);
    if (table == Table::kMeta && IsCounterMetaKey(key)) continue;
    visit(key, AsBytes(FromVal(v)));
  }
  if (rc != MDB_NOTFOUND) {
    return LmdbStatus(rc, "cannot scan table " + std::string(TableName(table)));
  }
  return Status::Ok();
}

// ForEachReplicated is ForEachReplicatedIn over every table, table by table.
Status ForEachReplicated(const TxnContext& ctx,
                         const std::function<void(Table, std::string_view, ByteSpan)>& visit) {
  for (Table table : kAllTables) {
    SR_RETURN_IF_ERROR(ForEachReplicatedIn(
        ctx, table, [&](std::string_view key, ByteSpan stored) { visit(table, key, stored); }));
  }
  return Status::Ok();
}

// StateTag is the digest record's MAC for the state `ctx` holds once its D
// is `digest`: Tag(kMeta, "replicated_state", resource_version, D ‖ for
// every replicated kMeta value in key order: u32-length key ‖ u32-length
// value). SECURITY: kMeta values carry no MAC of their own; this tag makes
// the whole replicated kMeta set (wrapped MAC key, escrowed KEKs, cache
// generations, schema version) as authentic as the records, so neither an
// incremental batch nor a full read applies a kMeta value that a writer
// without the token set or deleted. Its name differs from the local
// "store_digest" MAC's, so neither can stand for the other.
StatusOr<RecordTag> StateTag(const RecordAuthenticator& authenticator, const TxnContext& ctx,
                             std::uint64_t resource_version, const StoreDigest& digest) {
  ByteWriter state;
  state.Raw(digest);
  SR_RETURN_IF_ERROR(
      ForEachReplicatedIn(ctx, Table::kMeta, [&](std::string_view key, ByteSpan stored) {
        state.Str32(AsBytes(key));
        state.Str32(stored);
      }));
  return authenticator.Tag(Table::kMeta, kReplicatedStateKey, resource_version, state.bytes());
}

// SealedDigestRecord returns the digest record of the state `ctx` holds
// (its D) as `resource_version`.
StatusOr<DigestRecord> SealedDigestRecord(const RecordAuthenticator& authenticator,
                                          const TxnContext& ctx, std::uint64_t resource_version) {
  DigestRecord record;
  record.resource_version = resource_version;
  SR_ASSIGN_OR_RETURN(record.digest, ReadDigest(ctx));
  SR_ASSIGN_OR_RETURN(record.mac, StateTag(authenticator, ctx, resource_version, record.digest));
  return record;
}

// DecodeSchemaVersion reads a replicated schema_version value.
StatusOr<std::uint32_t> DecodeSchemaVersion(ByteSpan stored) {
  ByteReader reader(stored);
  StatusOr<std::uint32_t> version = reader.U32("schema version");
  if (!version.has_value() || !reader.ExpectEnd("schema version").ok()) {
    return std::unexpected(Refused("its schema version is not a 4-byte number"));
  }
  return *version;
}

// Applier applies one batch inside one write transaction, keeping D's delta
// and the tag index's changes.
class Applier {
 public:
  // `schema_version` is the replica's (Store::schema_version).
  Applier(const TxnContext& ctx, const RecordAuthenticator& authenticator, std::uint64_t rv,
          ApplyMode mode, std::uint32_t schema_version)
      : ctx_(ctx),
        authenticator_(authenticator),
        rv_(rv),
        mode_(mode),
        local_schema_(schema_version) {}

  // Apply applies one change. kMeta values are not verified here: the
  // digest record's MAC covers the whole kMeta set once every change is in.
  Status Apply(const ReplicatedChange& change) {
    if (change.table == Table::kMeta) {
      if (IsCounterMetaKey(change.key)) {
        return Refused("it sets the store-maintained meta value '" + change.key + "'");
      }
      if (change.key == kSchemaVersionKey) SR_RETURN_IF_ERROR(CheckSchema(change));
      if (change.value) return PutMetaValue(ctx_, change.key, *change.value);
      return DeleteStoredBytes(ctx_, Table::kMeta, change.key);
    }
    SR_ASSIGN_OR_RETURN(std::optional<Bytes> current, GetStoredBytes(ctx_, change.table, change.key));
    if (!change.value) {
      // Strongroom's batches never delete what the replica lacks: a record
      // created and deleted within one batch is absent from its net changes,
      // and etcd emits no watch event for a delete of an absent key (a
      // DeleteRange matching nothing changes nothing and is not in the
      // history). So this is a batch made outside Strongroom, or a replica
      // out of step with the cluster.
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
  // schema_version is the schema version the batch set, if it set one.
  std::optional<std::uint32_t> schema_version() const { return schema_version_; }

 private:
  // CheckSchema refuses a schema version this binary cannot serve (newer
  // than kSchemaVersion), or, in a batch of changes, one that goes back.
  Status CheckSchema(const ReplicatedChange& change) {
    if (!change.value) return Refused("it deletes the schema version");
    SR_ASSIGN_OR_RETURN(std::uint32_t version, DecodeSchemaVersion(*change.value));
    if (version > kSchemaVersion) {
      return Status::FailedPrecondition(
          "a replicated batch was refused (nothing applied): this node runs schema " +
          std::to_string(kSchemaVersion) + ", the cluster " + std::to_string(version) +
          ": upgrade this node");
    }
    if (mode_ == ApplyMode::kIncremental && version < local_schema_) {
      return Refused("it sets the schema version back from " + std::to_string(local_schema_) +
                     " to " + std::to_string(version));
    }
    schema_version_ = version;
    return Status::Ok();
  }

  Status Remove(Table table, const std::string& key, const Bytes& current) {
    SR_RETURN_IF_ERROR(DeleteStoredBytes(ctx_, table, key));
    if (std::optional<RecordTag> old = StoredTag(current)) delta_.Subtract(*old);
    changes_.push_back(TagChange{table, key, 0, IndexedTag{}, true, rv_});
    return Status::Ok();
  }

  const TxnContext& ctx_;
  const RecordAuthenticator& authenticator_;
  const std::uint64_t rv_;
  const ApplyMode mode_;
  const std::uint32_t local_schema_;
  std::optional<std::uint32_t> schema_version_;
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
                              ApplyMode mode, std::uint64_t trusted_floor) {
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
  if (mode == ApplyMode::kReplace && applied != 0) {
    return Status::FailedPrecondition(
        "this replica applied cluster revision " + std::to_string(applied) +
        ": its state is the cluster's, not its own to discard");
  }
  if (mode == ApplyMode::kFull && target < applied) {
    return Refused("the cluster's state at revision " + std::to_string(target) +
                   " is older than revision " + std::to_string(applied) +
                   " this replica already applied");
  }
  SR_ASSIGN_OR_RETURN(std::uint64_t start_rv, GetMetaU64(ctx, kResourceVersionKey));
  SR_ASSIGN_OR_RETURN(DigestRecord digest, DecodeDigestRecord(batch.digest_record));
  SR_RETURN_IF_ERROR(CheckAdvances(digest.resource_version, start_rv, mode, trusted_floor));
  SR_ASSIGN_OR_RETURN(StoreDigest local_digest, ReadDigest(ctx));
  if (mode == ApplyMode::kFull && digest.resource_version == start_rv) {
    // SECURITY: one resourceVersion names one state. Two do exist for one
    // resourceVersion in the cluster's history (a conflict's loser staged
    // its batch, MAC'd, on the base the winner used), so a full state at
    // the replica's own resourceVersion must be exactly the replica's.
    SR_ASSIGN_OR_RETURN(RecordTag local,
                        StateTag(*authenticator, ctx, start_rv, local_digest));
    if (CRYPTO_memcmp(local.data(), digest.mac.data(), local.size()) != 0) {
      return Refused("it is another state at resourceVersion " + std::to_string(start_rv) +
                     ", which this replica already holds (a forked or replayed state)");
    }
  }

  Applier applier(ctx, *authenticator, digest.resource_version, mode, schema_version());
  std::set<std::pair<Table, std::string>> keys;
  for (const ReplicatedChange& change : batch.changes) {
    if (!keys.emplace(change.table, change.key).second) {
      return Refused("it names " + DescribeRecord(change.table, change.key) + " twice");
    }
    SR_RETURN_IF_ERROR(applier.Apply(change));
  }
  if (mode != ApplyMode::kIncremental) SR_RETURN_IF_ERROR(applier.RemoveAllBut(keys));
  // SECURITY: the records must add up to the digest the batch carries: an
  // old valid record put back, or one left out, changes the sum.
  StoreDigest computed = local_digest;
  AddTag(computed, applier.delta().value());
  if (CRYPTO_memcmp(computed.data(), digest.digest.data(), computed.size()) != 0) {
    return Refused("the records do not match the store digest of resourceVersion " +
                   std::to_string(digest.resource_version));
  }
  // SECURITY: the MAC binds D, the kMeta set now staged and the
  // resourceVersion (StateTag): an edited digest record, or a kMeta value
  // set or deleted outside Strongroom, fails it.
  SR_ASSIGN_OR_RETURN(RecordTag expected,
                      StateTag(*authenticator, ctx, digest.resource_version, digest.digest));
  if (CRYPTO_memcmp(expected.data(), digest.mac.data(), expected.size()) != 0) {
    return Refused("the store digest record's MAC does not verify for resourceVersion " +
                   std::to_string(digest.resource_version) +
                   " with the meta values the batch leaves");
  }
  SR_RETURN_IF_ERROR(PutMetaValue(ctx, kStoreDigestKey, digest.digest));
  SR_RETURN_IF_ERROR(PutMetaU64(ctx, kResourceVersionKey, digest.resource_version));
  // The local MAC over D (store_digest.h), as a local commit stores it.
  SR_RETURN_IF_ERROR(RefreshDigestMac(ctx, digest.resource_version));
  SR_RETURN_IF_ERROR(PutMetaU64(ctx, kReplicaRevisionKey, target));

  impl_->watch->BeginCommit(digest.resource_version);
  Status committed = txn.Commit(map_size);
  impl_->watch->EndCommit(committed, start_rv, digest.resource_version, applier.changes());
  SR_RETURN_IF_ERROR(committed);
  if (std::optional<std::uint32_t> schema = applier.schema_version()) {
    impl_->schema_version.store(*schema, std::memory_order_release);
  }
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
  SR_ASSIGN_OR_RETURN(std::uint64_t resource_version, GetMetaU64(ctx, kResourceVersionKey));
  SR_ASSIGN_OR_RETURN(DigestRecord digest,
                      SealedDigestRecord(*authenticator, ctx, resource_version));
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
  // Every failure from here on follows the pre-commit hook, which has
  // audited the batch's intents: it is the batch's outcome, and its
  // resourceVersions are never staged again (each audit record names one
  // write).
  auto abandon = [&](const Status& cause) {
    abandoned_version = resource_version;
    if (outcome_hook) outcome_hook(cause);
    return BatchFailure(cause);
  };
  // SECURITY: the digest record is sealed here with the token's MAC key;
  // without it the batch would carry a stale MAC that every node refuses.
  if (parent_context.authenticator == nullptr) {
    return abandon(Status::FailedPrecondition(
        "replicated mode needs the record authenticator; none is set"));
  }
  // The batch's net changes, read back from the staged parent transaction.
  ReplicatedBatch batch;
  batch.base_revision = base_revision;
  batch.deadline = batch_deadline;
  std::set<std::pair<Table, std::string>> seen;
  for (const TagChange& change : changes.changes) {
    if (!seen.emplace(change.table, change.key).second) continue;
    StatusOr<std::optional<Bytes>> stored = GetStoredBytes(parent_context, change.table, change.key);
    if (!stored.has_value()) return abandon(stored.error());
    batch.changes.push_back(ReplicatedChange{change.table, change.key, std::move(*stored)});
  }
  for (const std::string& key : meta_keys) {
    if (!seen.emplace(Table::kMeta, key).second) continue;
    StatusOr<std::optional<Bytes>> stored = GetStoredBytes(parent_context, Table::kMeta, key);
    if (!stored.has_value()) return abandon(stored.error());
    batch.changes.push_back(ReplicatedChange{Table::kMeta, key, std::move(*stored)});
  }
  StatusOr<DigestRecord> digest =
      SealedDigestRecord(*parent_context.authenticator, parent_context, resource_version);
  if (!digest.has_value()) {
    return abandon(digest.error().WithContext("cannot seal the store digest record"));
  }
  batch.digest_record = EncodeDigestRecord(*digest);
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
  if (!outcome->committed && outcome->revision < base_revision) {
    // SECURITY: the cluster's digest record sits before the revision this
    // replica already applied: etcd's history went back, as a restored
    // etcd's does. Staging again would only conflict again. (At exactly
    // base_revision only the node's attempt key moved, replica/
    // etcd_replicator.cc: the batch is staged again, within its deadline.)
    Status restored = Status::IntegrityError(
        "the write was not committed: the cluster's store digest is at revision " +
        std::to_string(outcome->revision) + ", before revision " +
        std::to_string(base_revision) +
        " this node already applied (was the cluster's etcd restored from a backup?)");
    if (outcome_hook) outcome_hook(restored);
    return restored;
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

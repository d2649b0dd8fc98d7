#include "storage/integrity_watch.h"

#include <algorithm>
#include <string>
#include <utility>

#include "storage/lmdb_env.h"
#include "storage/store_digest.h"
#include "storage/store_env.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// Unexplained is the error of a record that is not what Strongroom last
// committed. SECURITY: names table and key, never a value or a tag.
Status Unexplained(Table table, std::string_view key, std::string_view why) {
  return Status::IntegrityError(DescribeRecord(table, key) +
                                " is not the one Strongroom last committed (" + std::string(why) +
                                ")");
}

Status RolledBack(std::uint64_t snapshot_rv, std::uint64_t known_rv) {
  return Status::IntegrityError("the store was rolled back while the server ran: resourceVersion " +
                                std::to_string(snapshot_rv) + " after " + std::to_string(known_rv));
}

}  // namespace

IntegrityWatch::IntegrityWatch(std::shared_ptr<const StoreEnv> env, bool index_enabled)
    : env_(std::move(env)), index_enabled_(index_enabled) {}

void IntegrityWatch::SetForeignWriteCheck(Store::ForeignWriteCheck check) {
  std::lock_guard lock(config_mu_);
  foreign_write_check_ = std::move(check);
}

void IntegrityWatch::Close() { SetForeignWriteCheck(nullptr); }

Status IntegrityWatch::problem() const {
  if (!failed()) return Status::Ok();
  std::lock_guard lock(problem_mu_);
  return problem_;
}

void IntegrityWatch::Latch(const Status& why) {
  std::lock_guard lock(problem_mu_);
  if (failed_.load(std::memory_order_relaxed)) return;
  problem_ = Status::IntegrityError(
      "store integrity failed; refusing authenticated reads until "
      "restart: " +
      why.message());
  failed_.store(true, std::memory_order_release);
}

Status IntegrityWatch::CheckSnapshot(std::uint64_t floor, std::uint64_t snapshot_rv) {
  if (!armed() || snapshot_rv >= floor) return Status::Ok();
  Status rolled_back = RolledBack(snapshot_rv, floor);
  Latch(rolled_back);
  return rolled_back;
}

TagIndex::Verdict IntegrityWatch::Compare(Table table, std::string_view key,
                                          const ObservedRecord* observed,
                                          std::uint64_t snapshot_rv) const {
  if (observed == nullptr) return index_.CheckAbsent(table, key, snapshot_rv);
  return index_.CheckPresent(table, key, observed->generation, observed->stored_tag, snapshot_rv);
}

Status IntegrityWatch::CheckRecord(const RecordAuthenticator* authenticator, Table table,
                                   std::string_view key, const ObservedRecord* observed,
                                   std::uint64_t snapshot_rv) {
  if (failed()) return problem().WithContext("cannot use " + DescribeRecord(table, key));
  if (!armed()) return Status::Ok();
  if (Compare(table, key, observed, snapshot_rv) == TagIndex::Verdict::kConsistent) {
    return Status::Ok();
  }

  // The slow path: an unexplained change, or a race with the writer.
  std::optional<std::uint64_t> to_vouch;
  std::uint64_t seen_rebuilds = 0;
  {
    std::unique_lock lock(state_mu_);
    // This process's own batch, committed at or above the snapshot and not
    // yet in the index: wait for the writer to publish it (microseconds).
    state_cv_.wait(lock, [&] {
      return committing_end_rv_ < snapshot_rv || published_rv_.load() >= snapshot_rv;
    });
    seen_rebuilds = rebuilds_.load();
    to_vouch = ForeignToVouch(snapshot_rv, published_rv_.load());
  }
  if (Compare(table, key, observed, snapshot_rv) == TagIndex::Verdict::kConsistent) {
    return Status::Ok();
  }
  if (!to_vouch) {
    return Unexplained(table, key, "no write by another process explains the change");
  }
  if (authenticator == nullptr) {
    return Unexplained(table, key, "no authenticator to re-verify the store with");
  }
  std::uint64_t vouched = 0;
  SR_RETURN_IF_ERROR(Vouch(*to_vouch, table, key, vouched));
  Status rebuilt = Rebuild(*authenticator, seen_rebuilds, vouched, table, key);
  if (!rebuilt.ok()) {
    if (rebuilt.code() != StatusCode::kIntegrityError) {
      // Fail closed: a store that cannot be re-verified is not trusted.
      return Unexplained(table, key, "the store could not be re-verified: " + rebuilt.message());
    }
    return rebuilt.WithContext(DescribeRecord(table, key) + " is not explained");
  }
  if (Compare(table, key, observed, snapshot_rv) == TagIndex::Verdict::kConsistent) {
    return Status::Ok();
  }
  return Unexplained(table, key, "the store was re-verified and the change is still unexplained");
}

std::optional<std::uint64_t> IntegrityWatch::ForeignToVouch(std::uint64_t rv,
                                                            std::uint64_t own_through) const {
  // Every resourceVersion above what this process committed is another's.
  if (rv > own_through) return rv;
  // Below it, only the gaps the writer saw between its own batches are.
  if (foreign_gap_ && rv >= first_foreign_rv_) return std::min(rv, last_foreign_rv_);
  return std::nullopt;
}

Status IntegrityWatch::Vouch(std::uint64_t rv, Table table, std::string_view key,
                             std::uint64_t& vouched) {
  Store::ForeignWriteCheck check;
  {
    std::lock_guard lock(config_mu_);
    check = foreign_write_check_;
  }
  if (!check) {
    return Unexplained(table, key,
                       "resourceVersion " + std::to_string(rv) +
                           " may come from another process and no foreign-write check is set");
  }
  StatusOr<std::uint64_t> answer = check();
  if (!answer.has_value()) {
    return Unexplained(table, key, "the foreign-write check failed: " + answer.error().message());
  }
  if (*answer < rv) {
    return Unexplained(table, key,
                       "no verified audit record of another process vouches for resourceVersion " +
                           std::to_string(rv) + " (vouched up to " + std::to_string(*answer) + ")");
  }
  vouched = *answer;
  return Status::Ok();
}

Status IntegrityWatch::Rebuild(const RecordAuthenticator& authenticator,
                               std::uint64_t seen_rebuilds, std::uint64_t vouched, Table table,
                               std::string_view key) {
  std::lock_guard rebuild_lock(rebuild_mu_);
  // Another reader rebuilt the index while this one waited: check again
  // against that (a changed record seen by both is not verified twice).
  if (rebuilds_.load() != seen_rebuilds) return Status::Ok();
  std::lock_guard publish_lock(publish_mu_);
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(env_->env(), nullptr, MDB_RDONLY));
  TxnContext context{txn.get(), &env_->tables(), &authenticator, env_->map_size_bytes()};
  SR_ASSIGN_OR_RETURN(std::uint64_t fresh_rv, GetMetaU64(context, kResourceVersionKey));
  std::optional<std::uint64_t> to_vouch;
  {
    std::lock_guard lock(state_mu_);
    const std::uint64_t published = published_rv_.load();
    if (fresh_rv < published) {
      Status rolled_back = RolledBack(fresh_rv, published);
      Latch(rolled_back);
      return rolled_back;
    }
    // A batch committed but not yet published (its writer waits for
    // publish_mu_) is this process's own.
    to_vouch = ForeignToVouch(fresh_rv, std::max(published, committing_end_rv_));
  }
  // The fresh snapshot may hold later foreign commits than the reader's.
  if (to_vouch && *to_vouch > vouched) SR_RETURN_IF_ERROR(Vouch(*to_vouch, table, key, vouched));
  TagIndexContents contents;
  Status verified = VerifyDigest(context, &contents);
  if (!verified.ok()) {
    if (verified.code() == StatusCode::kIntegrityError) Latch(verified);
    return verified;
  }
  Install(std::move(contents), fresh_rv);
  return Status::Ok();
}

void IntegrityWatch::Install(TagIndexContents contents, std::uint64_t snapshot_rv) {
  index_.Replace(std::move(contents), snapshot_rv);
  {
    std::lock_guard lock(state_mu_);
    base_rv_ = snapshot_rv;
    published_rv_.store(std::max(published_rv_.load(), snapshot_rv), std::memory_order_release);
    foreign_gap_ = false;
    rebuilds_.fetch_add(1);
  }
  armed_.store(true, std::memory_order_release);
  state_cv_.notify_all();
}

void IntegrityWatch::BeginCommit(std::uint64_t end_rv) {
  std::lock_guard lock(state_mu_);
  committing_end_rv_ = end_rv;
}

void IntegrityWatch::EndCommit(const Status& committed, std::uint64_t start_rv,
                               std::uint64_t end_rv, std::span<const TagChange> changes) {
  {
    std::lock_guard publish_lock(publish_mu_);
    if (committed.ok()) {
      std::uint64_t base = 0;
      {
        std::lock_guard lock(state_mu_);
        base = base_rv_;
        const std::uint64_t published = published_rv_.load();
        // The batch started above what this process last saw: another
        // process (the CLI) committed in between.
        if (start_rv > published) {
          if (!foreign_gap_) first_foreign_rv_ = published + 1;
          foreign_gap_ = true;
          last_foreign_rv_ = start_rv;
        }
      }
      // A rebuild that ran after this commit already holds its changes.
      if (armed() && end_rv > base) index_.Apply(changes);
    }
    std::lock_guard lock(state_mu_);
    if (committed.ok()) {
      published_rv_.store(std::max(published_rv_.load(), end_rv), std::memory_order_release);
    }
    committing_end_rv_ = 0;
  }
  state_cv_.notify_all();
}

StatusOr<std::uint64_t> IntegrityWatch::Verify(const RecordAuthenticator& authenticator) {
  const bool arm = index_enabled_ && !armed();
  // Arming must not race a commit: the writer publishes under publish_mu_.
  std::unique_lock<std::mutex> rebuild_lock(rebuild_mu_, std::defer_lock);
  std::unique_lock<std::mutex> publish_lock(publish_mu_, std::defer_lock);
  if (arm) {
    rebuild_lock.lock();
    publish_lock.lock();
  }
  const std::uint64_t floor = published_rv();
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(env_->env(), nullptr, MDB_RDONLY));
  TxnContext context{txn.get(), &env_->tables(), &authenticator, env_->map_size_bytes()};
  SR_ASSIGN_OR_RETURN(std::uint64_t snapshot_rv, GetMetaU64(context, kResourceVersionKey));
  if (armed() && snapshot_rv < floor) return std::unexpected(RolledBack(snapshot_rv, floor));
  if (!arm || armed()) {
    SR_RETURN_IF_ERROR(VerifyDigest(context));
    return snapshot_rv;
  }
  TagIndexContents contents;
  SR_RETURN_IF_ERROR(VerifyDigest(context, &contents));
  Install(std::move(contents), snapshot_rv);
  return snapshot_rv;
}

Status IntegrityWatch::CheckNow(const RecordAuthenticator& authenticator) {
  std::lock_guard lock(check_mu_);
  if (failed()) return problem();
  StatusOr<std::uint64_t> checked = Verify(authenticator);
  if (!checked.has_value()) {
    if (checked.error().code() == StatusCode::kIntegrityError) {
      Latch(checked.error());
      return problem();
    }
    return checked.error();
  }
  // A snapshot begun before the previous check is older than one check
  // interval: requests never hold one that long.
  if (previous_check_rv_ > 0) index_.PruneTombstones(previous_check_rv_);
  previous_check_rv_ = *checked;
  return Status::Ok();
}

std::string BatchChanges::ChangeKey(Table table, std::string_view key) {
  std::string out(1, static_cast<char>(table));
  out.append(key);
  return out;
}

void BatchChanges::Add(std::vector<TagChange>&& more) {
  for (TagChange& change : more) {
    keys.insert(ChangeKey(change.table, change.key));
    changes.push_back(std::move(change));
  }
}

Status WriterWatch::Check(const TxnContext& ctx, Table table, std::string_view key,
                          const ObservedRecord* observed) const {
  if (watch_->failed()) {
    return watch_->problem().WithContext("cannot use " + DescribeRecord(table, key));
  }
  if (!watch_->armed()) return Status::Ok();
  for (const TagChange& change : *own_) {
    if (change.table == table && change.key == key) return Status::Ok();
  }
  if (batch_->keys.contains(BatchChanges::ChangeKey(table, key))) return Status::Ok();
  return watch_->CheckRecord(ctx.authenticator, table, key, observed, snapshot_rv_);
}

}  // namespace strongroom::storage

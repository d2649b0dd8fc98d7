// Replica: bootstrap, the apply loop and the freshness checks (replica.h).
#include "replica/replica.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/node_name.h"

namespace strongroom::replica {
namespace {

using Clock = std::chrono::steady_clock;

Bytes ToBytes(const std::string& value) { return Bytes(value.begin(), value.end()); }

// RefusingReplicator is installed first thing in Start and when a Replica
// stops: the node never writes its LMDB alone once it has joined a cluster,
// nor while it joins.
class RefusingReplicator final : public storage::BatchReplicator {
 public:
  StatusOr<storage::ReplicatedCommit> Commit(const storage::ReplicatedBatch&) override {
    return std::unexpected(Status::Unavailable(
        "this node's replication is not running; it accepts no writes"));
  }
};

// RandomNodeName names a node that was given no name (one per Start).
std::string RandomNodeName() {
  std::random_device random;
  return "node-" + std::to_string(random()) + std::to_string(random());
}

// HoldsRecords is true when `batch` (an export) holds any record, as
// opposed to kMeta values alone.
bool HoldsRecords(const storage::ReplicatedBatch& batch) {
  for (const storage::ReplicatedChange& change : batch.changes) {
    if (change.table != storage::Table::kMeta) return true;
  }
  return false;
}

// AddChange adds the store change an etcd key-value names to `batch`;
// false when the key is not the store's.
bool AddChange(const KeyLayout& layout, const cluster::KeyValue& kv, bool deleted,
               storage::ReplicatedBatch& batch, bool& digest_seen) {
  KeyLayout::Parsed parsed = layout.Parse(kv.key);
  switch (parsed.kind) {
    case KeyLayout::Parsed::Kind::kDigest:
      digest_seen = !deleted;
      if (!deleted) batch.digest_record = ToBytes(kv.value);
      return true;
    case KeyLayout::Parsed::Kind::kRecord:
    case KeyLayout::Parsed::Kind::kMeta: {
      storage::ReplicatedChange change{parsed.table, std::move(parsed.key), std::nullopt};
      if (!deleted) change.value = ToBytes(kv.value);
      batch.changes.push_back(std::move(change));
      return true;
    }
    case KeyLayout::Parsed::Kind::kOther:
      return false;
  }
  return false;
}

}  // namespace

Replica::Replica(storage::Store& store, ReplicaOptions options,
                 std::shared_ptr<cluster::EtcdClient> client)
    : store_(store), options_(std::move(options)), layout_(options_.cluster_name),
      client_(std::move(client)) {}

StatusOr<std::unique_ptr<Replica>> Replica::Start(storage::Store& store, ReplicaOptions options) {
  if (!IsNodeName(options.cluster_name)) {
    return std::unexpected(
        Status::InvalidArgument("the cluster name must be " + std::string(kNodeNameRule)));
  }
  if (options.fresh_check_interval <= std::chrono::milliseconds::zero() ||
      options.full_read_page <= 0 || options.write_timeout <= std::chrono::milliseconds::zero() ||
      options.name_ttl_seconds <= 0) {
    return std::unexpected(Status::InvalidArgument(
        "the freshness interval, the full-read page, the write timeout and the name lease must be "
        "positive"));
  }
  if (!options.node_name.empty() && !IsNodeName(options.node_name)) {
    return std::unexpected(
        Status::InvalidArgument("the node name must be " + std::string(kNodeNameRule)));
  }
  if (options.node_name.empty()) options.node_name = RandomNodeName();
  // SECURITY: from here on the store is written only through the cluster
  // (or not at all, if Start fails); see RefusingReplicator.
  store.SetReplicator(std::make_shared<RefusingReplicator>());
  SR_ASSIGN_OR_RETURN(std::unique_ptr<cluster::EtcdClient> client,
                      cluster::EtcdClient::Create(options.etcd));
  std::unique_ptr<Replica> replica(
      new Replica(store, std::move(options), std::shared_ptr<cluster::EtcdClient>(std::move(client))));
  SR_RETURN_IF_ERROR(replica->ClaimName());
  SR_RETURN_IF_ERROR(replica->Bootstrap());
  replica->replicator_ = std::make_shared<EtcdReplicator>(
      replica->client_, replica->layout_, [health = replica->health_] { return health->Get(); },
      EtcdReplicatorOptions{
          .node_name = replica->options_.node_name,
          .write_timeout = replica->options_.write_timeout,
          .fault = replica->options_.txn_fault_for_testing,
          .name_lease = [health = replica->health_] { return health->name_lease.load(); }});
  store.SetReplicator(replica->replicator_);
  SR_RETURN_IF_ERROR(replica->StartWatch());
  replica->control_ = std::thread([raw = replica.get()] { raw->ControlLoop(); });
  return replica;
}

Replica::~Replica() { Stop(); }

void Replica::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  // First: no new batch goes to etcd; batches in flight may still be applied.
  store_.SetReplicator(std::make_shared<RefusingReplicator>());
  wake_.notify_all();
  if (control_.joinable()) control_.join();
  if (watch_ != nullptr) watch_->Stop();
  watch_.reset();
  if (name_claim_ != nullptr) {
    // The name is free at once for this node's next start (a process killed
    // without Stop keeps it until its lease lapses). Best effort: an
    // unreachable etcd lets the lease lapse instead.
    health_->name_lease.store(0);
    (void)name_claim_->Release();
  }
}

Status Replica::ClaimName() {
  name_claim_ = std::make_unique<cluster::LeaderLease>(
      *client_, cluster::LeaderLeaseOptions{.key = layout_.NameKey(options_.node_name),
                                            .holder = options_.node_name,
                                            .ttl_seconds = options_.name_ttl_seconds});
  const Clock::time_point give_up = Clock::now() + options_.name_claim_wait;
  for (;;) {
    StatusOr<bool> held = name_claim_->TryAcquire();
    if (!held.has_value()) {
      // etcd electing a leader: tried again within the wait; anything else
      // (refused, unreachable at the deadline) ends Start.
      const bool transient = held.error().code() == StatusCode::kUnavailable ||
                             held.error().code() == StatusCode::kOutcomeUnknown;
      if (!transient || Clock::now() >= give_up) return held.error();
    } else if (*held) {
      health_->name_lease.store(name_claim_->lease_id());
      name_renewed_ = Clock::now();
      return Status::Ok();
    }
    if (Clock::now() >= give_up) break;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(250), give_up - Clock::now()));
  }
  // Leave the lease this process granted to lapse with nothing under it.
  (void)name_claim_->Release();
  return Status::AlreadyExists("the node name \"" + options_.node_name +
                               "\" is held by another running process (its claim in etcd, " +
                               layout_.NameKey(options_.node_name) + ", did not lapse within " +
                               std::to_string(options_.name_claim_wait.count()) +
                               " ms); give every node its own [cluster] node_name");
}

void Replica::KeepName() {
  if (name_claim_ == nullptr) return;
  const auto period = std::chrono::milliseconds(options_.name_ttl_seconds * 1000 / 3);
  if (Clock::now() - name_renewed_ < period) return;
  Status renewed = name_claim_->KeepAlive();
  if (renewed.ok() && name_claim_->held()) {
    name_renewed_ = Clock::now();
    return;
  }
  if (renewed.code() != StatusCode::kNotFound && name_claim_->held()) return;  // etcd away: retry
  // SECURITY: the claim lapsed (this node was cut off from etcd longer than
  // its lease). Writes compare the lease, so none commits until the name is
  // this process's again; if another process took it, it stays refused.
  health_->name_lease.store(0);
  StatusOr<bool> again = name_claim_->TryAcquire();
  std::lock_guard lock(health_->mu);
  if (again.has_value() && *again) {
    health_->name_lease.store(name_claim_->lease_id());
    health_->name_lost = Status::Ok();
    name_renewed_ = Clock::now();
  } else if (again.has_value()) {
    health_->name_lost =
        Status::FailedPrecondition("this node's claim on its name \"" + options_.node_name +
                                   "\" lapsed and another process holds it now; restart this node");
  }
}

Status Replica::health() const { return health_->Get(); }

std::chrono::milliseconds Replica::staleness() const {
  std::lock_guard lock(mu_);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_fresh_);
}

void Replica::SetProblem(const Status& problem) {
  std::lock_guard lock(health_->mu);
  if (health_->permanent) return;
  health_->problem = problem;
  health_->permanent = problem.code() == StatusCode::kIntegrityError;
}

void Replica::SetWatchDown(const Status& why) {
  std::lock_guard lock(health_->mu);
  health_->watch_down = why;
}

void Replica::ClearTransientProblem() {
  std::lock_guard lock(health_->mu);
  if (!health_->permanent) health_->problem = Status::Ok();
}

bool Replica::stopped_applying() const {
  std::lock_guard lock(health_->mu);
  return health_->permanent;
}

Status Replica::Seed(bool& seeded) {
  seeded = false;
  SR_ASSIGN_OR_RETURN(cluster::RangeResult existing, client_->Range({.key = layout_.digest_key()}));
  if (!existing.kvs.empty()) return Status::Ok();
  if (!options_.seed_if_missing) {
    return Status::FailedPrecondition("etcd holds no store under " + layout_.prefix());
  }
  SR_ASSIGN_OR_RETURN(storage::ReplicatedBatch batch, store_.ExportReplica());
  cluster::TxnRequest txn;
  txn.compare.push_back(cluster::Compare::KeyMissing(layout_.digest_key()));
  txn.success = ToEtcdOps(layout_, batch);
  if (txn.success.size() > kMaxTxnOps) {
    return Status::ResourceExhausted("seeding needs " + std::to_string(txn.success.size()) +
                                     " etcd operations in one transaction, more than " +
                                     std::to_string(kMaxTxnOps));
  }
  // Another node seeding at the same moment wins or loses as a whole; the
  // loser reads the winner's state (FullRead), if it may (Bootstrap).
  SR_ASSIGN_OR_RETURN(cluster::TxnResult result, client_->Txn(txn));
  seeded = result.succeeded;
  return Status::Ok();
}

Status Replica::FullRead(storage::ApplyMode mode) {
  SR_ASSIGN_OR_RETURN(cluster::RangeResult head, client_->Range({.key = layout_.digest_key()}));
  if (head.kvs.empty()) {
    return Status::IntegrityError("etcd holds no store digest record under " + layout_.prefix());
  }
  const std::int64_t at = head.header.revision;
  storage::ReplicatedBatch batch;
  bool digest_seen = false;
  AddChange(layout_, head.kvs.front(), false, batch, digest_seen);
  for (const std::string& prefix : {layout_.records_prefix(), layout_.meta_prefix()}) {
    std::string from = prefix;
    const std::string end = cluster::PrefixEnd(prefix);
    for (;;) {
      SR_ASSIGN_OR_RETURN(cluster::RangeResult page,
                          client_->Range({.key = from, .range_end = end,
                                          .limit = options_.full_read_page, .revision = at}));
      for (const cluster::KeyValue& kv : page.kvs) {
        if (kv.key == layout_.digest_key()) continue;  // read above, at `at` too
        AddChange(layout_, kv, false, batch, digest_seen);
      }
      if (!page.more || page.kvs.empty()) break;
      from = page.kvs.back().key + std::string(1, '\0');
    }
  }
  SR_RETURN_IF_ERROR(
      store_.ApplyReplicated(batch, head.kvs.front().mod_revision, mode));
  // SECURITY: a linearizable read of the digest key after applying: while
  // it still names the revision read, it must hold the record applied (a
  // member serving an old or forked state is caught by the leader's view).
  // A digest moved on since is the watch's to apply.
  SR_ASSIGN_OR_RETURN(cluster::RangeResult now, client_->Range({.key = layout_.digest_key()}));
  if (now.kvs.empty() || (now.kvs.front().mod_revision == head.kvs.front().mod_revision &&
                          now.kvs.front().value != head.kvs.front().value) ||
      now.kvs.front().mod_revision < head.kvs.front().mod_revision) {
    return Status::IntegrityError(
        "the cluster's store digest record changed under the full read without a new revision");
  }
  full_reads_.fetch_add(1);
  std::lock_guard lock(mu_);
  watch_from_ = at + 1;
  last_fresh_ = Clock::now();
  return Status::Ok();
}

Status Replica::Bootstrap() {
  {
    std::lock_guard lock(mu_);
    last_fresh_ = Clock::now();
  }
  bool seeded = false;
  SR_RETURN_IF_ERROR(Seed(seeded));
  const std::int64_t applied = store_.replica_revision();
  if (applied == 0) {
    if (!seeded && options_.discard_local_data) return FullRead(storage::ApplyMode::kReplace);
    if (!seeded) {
      // SECURITY/durability: a full read replaces everything the store holds;
      // records written in single-node mode (or a lost seed race) are not
      // deleted without the operator saying so.
      SR_ASSIGN_OR_RETURN(storage::ReplicatedBatch local, store_.ExportReplica());
      if (HoldsRecords(local)) {
        return Status::FailedPrecondition(
            "this store holds records of its own and the cluster under " + layout_.prefix() +
            " was not seeded from it; joining would delete them (set discard_local_data to join "
            "anyway)");
      }
    }
    return FullRead();
  }
  // The replica resumes from its revision if etcd still holds it.
  StatusOr<cluster::RangeResult> then =
      client_->Range({.key = layout_.digest_key(), .revision = applied});
  if (!then.has_value()) {
    if (then.error().code() == StatusCode::kOutOfRange) return FullRead();
    return then.error();
  }
  std::lock_guard lock(mu_);
  watch_from_ = applied + 1;
  return Status::Ok();
}

Status Replica::StartWatch() {
  cluster::WatchOptions watch;
  watch.key = layout_.prefix();
  watch.range_end = cluster::PrefixEnd(layout_.prefix());
  {
    std::lock_guard lock(mu_);
    watch.start_revision = watch_from_;
  }
  SR_ASSIGN_OR_RETURN(watch_, cluster::EtcdWatch::Start(
                                  options_.etcd, std::move(watch),
                                  [this](const cluster::WatchNotice& notice) { OnNotice(notice); }));
  return Status::Ok();
}

void Replica::OnNotice(const cluster::WatchNotice& notice) {
  {
    std::lock_guard lock(mu_);
    // Until the control thread replaces this watch, nothing more is applied.
    if (stopping_ || full_read_needed_ || restart_needed_) return;
  }
  if (stopped_applying()) return;
  if (notice.kind == cluster::WatchNotice::Kind::kCompacted) {
    {
      std::lock_guard lock(mu_);
      full_read_needed_ = true;
    }
    wake_.notify_all();
    return;
  }
  if (notice.kind == cluster::WatchNotice::Kind::kDisconnected) {
    // Writes fail fast until the watch is back (EtcdReplicator::Commit):
    // this node could not see its own commit applied.
    SetWatchDown(Status::Unavailable("the watch on etcd is disconnected: " +
                                     notice.error.message()));
    return;
  }
  SetWatchDown(Status::Ok());  // connected, or events arrived
  if (notice.kind != cluster::WatchNotice::Kind::kEvents) return;
  Status applied = ApplyEvents(notice.events);
  if (applied.ok()) {
    ClearTransientProblem();
    return;
  }
  SetProblem(applied);
  if (applied.code() == StatusCode::kIntegrityError) return;  // stays stopped
  {
    std::lock_guard lock(mu_);
    restart_needed_ = true;
  }
  wake_.notify_all();
}

Status Replica::ApplyEvents(const std::vector<cluster::WatchEvent>& events) {
  std::size_t i = 0;
  while (i < events.size()) {
    const std::int64_t revision = events[i].kv.mod_revision;
    storage::ReplicatedBatch batch;
    bool digest_seen = false;
    bool store_changed = false;
    bool digest_deleted = false;
    for (; i < events.size() && events[i].kv.mod_revision == revision; ++i) {
      const bool deleted = events[i].type == cluster::WatchEvent::Type::kDelete;
      if (layout_.Parse(events[i].kv.key).kind == KeyLayout::Parsed::Kind::kDigest && deleted) {
        digest_deleted = true;
      }
      store_changed |= AddChange(layout_, events[i].kv, deleted, batch, digest_seen);
    }
    if (!store_changed) continue;
    if (digest_deleted || !digest_seen) {
      // SECURITY: every batch of Strongroom's writes the digest record; a
      // change without it was made outside Strongroom.
      return Status::IntegrityError(
          "a replicated batch was refused (nothing applied): cluster revision " +
          std::to_string(revision) + " changes the store without a new store digest record");
    }
    if (options_.before_apply_for_testing) options_.before_apply_for_testing(revision);
    SR_RETURN_IF_ERROR(store_.ApplyReplicated(batch, revision, storage::ApplyMode::kIncremental));
  }
  return Status::Ok();
}

void Replica::ControlLoop() {
  // The loop also renews the node-name claim, at least every third of its
  // lease.
  const std::chrono::milliseconds interval =
      std::max(std::chrono::milliseconds(50),
               std::min(options_.fresh_check_interval,
                        std::chrono::milliseconds(options_.name_ttl_seconds * 1000 / 3)));
  std::unique_lock lock(mu_);
  bool pause = false;  // the last resumption failed: wait a full interval
  while (!stopping_) {
    if (pause) {
      wake_.wait_for(lock, interval, [this] { return stopping_; });
    } else {
      wake_.wait_for(lock, interval,
                     [this] { return stopping_ || full_read_needed_ || restart_needed_; });
    }
    if (stopping_) break;
    pause = false;
    const bool full = full_read_needed_;
    const bool restart = restart_needed_;
    lock.unlock();
    if ((full || restart) && !stopped_applying()) {
      // The handler is not called once Stop() returns.
      if (watch_ != nullptr) watch_->Stop();
      Status resumed = Status::Ok();
      if (full) {
        resumed = FullRead();
      } else {
        std::lock_guard relock(mu_);
        watch_from_ = store_.replica_revision() + 1;
      }
      if (resumed.ok()) resumed = StartWatch();
      if (resumed.ok()) {
        {
          std::lock_guard relock(mu_);
          full_read_needed_ = false;
          restart_needed_ = false;
        }
        // The new watch is open (its kConnected may have come before the
        // flags above cleared, and been ignored).
        SetWatchDown(Status::Ok());
        ClearTransientProblem();
      } else {
        // Retried after an interval; one that did not verify stops for good.
        SetProblem(resumed);
        pause = true;
      }
    }
    KeepName();
    CheckFreshness();
    lock.lock();
    if (stopped_applying()) {
      // Nothing will be applied again: only the freshness checks go on.
      full_read_needed_ = false;
      restart_needed_ = false;
    }
  }
}

void Replica::CheckFreshness() {
  const Clock::time_point asked = Clock::now();
  StatusOr<cluster::RangeResult> head = client_->Range({.key = layout_.digest_key()});
  if (!head.has_value() || head->kvs.empty()) return;
  if (head->kvs.front().mod_revision > store_.replica_revision()) return;
  std::lock_guard lock(mu_);
  last_fresh_ = asked;
}

}  // namespace strongroom::replica

// replica/replica.h — the several-node mode's link between one node's store
// and etcd (issue 18; docs/cluster-design.md). Read first.
//
// etcd is the source of truth; the node's LMDB store is its replica. A
// Replica, started on an open Store:
//   - bootstraps: the first node of a new cluster seeds etcd from its store
//     (a transaction that creates the digest key only if missing); a node
//     whose replica is empty, or behind what etcd still keeps (compacted),
//     reads the whole replicated state at one revision (paged ranges) and
//     applies it verified (storage::ApplyMode::kFull);
//   - installs the EtcdReplicator (etcd_replicator.h): the store's writes
//     become etcd transactions, answered once this node applied them;
//   - runs the apply loop: an EtcdWatch on the cluster's prefix, from the
//     revision after the last applied, whole revisions in order into
//     Store::ApplyReplicated. A batch that does not verify (a forged record,
//     an old record or digest put back) is never applied: the loop stops and
//     health() reports why (the server turns that into not-ready);
//   - claims the node name: one running process per name. Start creates
//     P names/<node> under a lease of this process's (only if missing) and
//     the control loop keeps the lease alive; every write transaction
//     compares that lease, so a process whose claim lapsed commits nothing.
//     A second process with the same name waits at most name_claim_wait
//     for the first one's claim to lapse, then Start fails (kAlreadyExists,
//     naming the name): a node restarted after kill -9 gets its name back
//     within name_ttl_seconds (plus an election, if etcd's leader changed);
//     Stop() gives it back at once;
//   - checks freshness: every `fresh_check_interval`, a linearizable read of
//     the digest key; the replica is fresh when it has applied that
//     revision. staleness() is the time since it last was (the server makes
//     it a metric, and 503 past max_staleness).
//
// Files: key_layout.h (where things live in etcd), etcd_replicator.h (the
// write path), replica.cc (bootstrap, apply loop, freshness).
//
// Thread-safety: every method may be called from any thread. The Replica
// must be destroyed before its Store.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "cluster/etcd_client.h"
#include "cluster/etcd_watch.h"
#include "cluster/leader_lease.h"
#include "replica/etcd_replicator.h"
#include "replica/key_layout.h"
#include "storage/replication.h"
#include "storage/storage.h"

namespace strongroom::replica {

struct ReplicaOptions {
  // cluster_name names the deployment's prefix in etcd
  // ("/strongroom/<name>/v1/"). REQUIRES: IsNodeName (base/node_name.h).
  std::string cluster_name;
  // etcd: endpoints, client certificate, timeouts (cluster/etcd_client.h).
  cluster::EtcdClientOptions etcd;
  // fresh_check_interval: how often freshness is checked. Default 1 s.
  std::chrono::milliseconds fresh_check_interval{1000};
  // full_read_page: keys per range of a full read. Default 500.
  std::int64_t full_read_page = 500;
  // seed_if_missing: when etcd holds no store under the prefix, seed it from
  // this node's store. Default true (false: kFailedPrecondition instead).
  bool seed_if_missing = true;
  // node_name names this node's write-attempt key in etcd
  // (etcd_replicator.h). REQUIRES: empty or IsNodeName (base/node_name.h).
  // Start claims it (see above), so two running processes never share it.
  // Default empty: a random name per Start (one stale attempt key per
  // process lifetime is left in etcd).
  std::string node_name;
  // name_ttl_seconds: the lease of the node-name claim; a process killed
  // without Stop() holds its name this long after its last renewal (etcd
  // raises values below its minimum, about 2 s). Renewed every third of it.
  // Default 3.
  std::int64_t name_ttl_seconds = 3;
  // name_claim_wait: how long Start waits for another process's claim on the
  // node name to lapse before it fails with kAlreadyExists. Default 10 s
  // (over three leases: a kill -9 restart gets its name back; a second
  // process with the same name is refused after this wait).
  std::chrono::milliseconds name_claim_wait{10000};
  // write_timeout bounds each batch of writes, from staging to its answer:
  // kUnavailable (or kOutcomeUnknown) past it, never a hang. Default 3 s.
  std::chrono::milliseconds write_timeout{3000};
  // discard_local_data: a store that never joined a cluster but holds
  // records, joining a cluster it did not seed itself (another node's seed
  // won, or the cluster exists), has its records replaced by the cluster's.
  // Default false: Start refuses with kFailedPrecondition instead, so a
  // node's acknowledged single-node writes are never silently deleted.
  bool discard_local_data = false;
  // txn_fault_for_testing: tests only (etcd_replicator.h, TxnFaultHook).
  TxnFaultHook txn_fault_for_testing;
  // before_apply_for_testing: tests only; called on the watch thread before
  // each revision the apply loop applies (a test holds the loop there to
  // make this node's replica stale on purpose). Default none.
  std::function<void(std::int64_t revision)> before_apply_for_testing;
};

class Replica {
 public:
  // Start bootstraps (see above), installs the replicator on `store` and
  // starts the apply loop. REQUIRES: the store's authenticator is set; no
  // other Replica runs on `store`; nothing writes the store while Start
  // runs. Errors: kInvalidArgument for bad options; kUnavailable when etcd
  // cannot be reached; kIntegrityError when the cluster's state does not
  // verify or is older than the replica's; kFailedPrecondition when the
  // store holds records of its own and the cluster is not its seed (see
  // discard_local_data). A refusing replicator is installed before anything
  // else: after a failure past the option checks the store refuses writes
  // (as after Stop()) until a Start succeeds, and nothing writes it while
  // Start runs.
  static StatusOr<std::unique_ptr<Replica>> Start(storage::Store& store, ReplicaOptions options);
  // ~Replica stops (Stop()).
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Stop ends the apply loop and the freshness checks; the store's writes
  // then fail with kUnavailable (a replicator that refuses stays installed:
  // a node never writes its LMDB alone once it joined a cluster).
  // Idempotent.
  void Stop();

  // health is OK while the apply loop applies; otherwise why it stopped
  // (kIntegrityError: a batch did not verify; it stays stopped) or is
  // waiting to resume (kUnavailable).
  Status health() const;
  // stopped_applying is true once a batch did not verify: the replica never
  // applies again (until restarted), whatever its staleness. A transient
  // problem (etcd unreachable, the watch reconnecting) leaves it false: the
  // replica keeps serving for max_staleness.
  bool stopped_applying() const;
  // staleness is the time since the replica was last known fresh.
  std::chrono::milliseconds staleness() const;
  // applied_revision is the cluster revision of the last batch applied.
  std::int64_t applied_revision() const { return store_.replica_revision(); }
  // full_reads counts the full reads done (bootstrap and after compaction).
  std::uint64_t full_reads() const { return full_reads_.load(); }
  // fences counts the fences this node's write path sent
  // (EtcdReplicator::fences): tests check that a write which never reached
  // etcd sent none.
  std::uint64_t fences() const { return replicator_ == nullptr ? 0 : replicator_->fences(); }

 private:
  Replica(storage::Store& store, ReplicaOptions options,
          std::shared_ptr<cluster::EtcdClient> client);

  // ClaimName takes P names/<node_name> for this process (see above),
  // waiting at most name_claim_wait for another holder's claim to lapse.
  Status ClaimName();
  // KeepName renews the claim (the control loop); a lapsed claim is taken
  // again if nobody else took it, else writes stay refused (health()).
  void KeepName();
  // Seed creates the cluster's state from the store unless it exists;
  // `seeded` says whether this call created it.
  Status Seed(bool& seeded);
  // FullRead applies the whole replicated state at the current revision;
  // the watch is to resume after that revision (watch_from_).
  // `mode` is kFull, or kReplace when Bootstrap discards the store's own
  // state (discard_local_data).
  Status FullRead(storage::ApplyMode mode = storage::ApplyMode::kFull);
  // Bootstrap decides between the above and resuming the watch.
  Status Bootstrap();
  // StartWatch starts the apply loop's watch from watch_from_.
  Status StartWatch();
  // OnNotice is the watch handler (the watch thread).
  void OnNotice(const cluster::WatchNotice& notice);
  // ApplyEvents applies one notice's revisions in order.
  Status ApplyEvents(const std::vector<cluster::WatchEvent>& events);
  // ControlLoop: freshness checks, and the full reads and watch restarts
  // the handler asks for (the handler cannot replace its own watch).
  void ControlLoop();
  void CheckFreshness();

  // Health is what health() reports; shared with the installed replicator,
  // which may outlive the Replica on the writer thread.
  struct Health {
    mutable std::mutex mu;
    Status problem;          // guarded by mu
    bool permanent = false;  // guarded by mu: a batch did not verify
    Status watch_down;       // guarded by mu: the watch is reconnecting
    Status name_lost;        // guarded by mu: another process took the node name
    // name_lease: the lease of this process's claim on its node name (0:
    // none); every write transaction compares it.
    std::atomic<std::int64_t> name_lease{0};
    Status Get() const {
      std::lock_guard lock(mu);
      if (!problem.ok()) return problem;
      return name_lost.ok() ? watch_down : name_lost;
    }
  };
  // SetWatchDown records (or, with OK, clears) that the watch is
  // disconnected, apart from the apply loop's own problem.
  void SetWatchDown(const Status& why);
  // SetProblem records why applying stopped; a permanent problem (a batch
  // that did not verify) is never replaced or cleared.
  void SetProblem(const Status& problem);
  void ClearTransientProblem();

  storage::Store& store_;
  const ReplicaOptions options_;
  const KeyLayout layout_;
  std::shared_ptr<cluster::EtcdClient> client_;
  // name_claim_: the node-name claim; used by Start, then the control
  // thread, then Stop (one at a time).
  std::unique_ptr<cluster::LeaderLease> name_claim_;
  std::chrono::steady_clock::time_point name_renewed_;  // the control thread's
  std::shared_ptr<EtcdReplicator> replicator_;          // set once by Start

  std::unique_ptr<cluster::EtcdWatch> watch_;  // the control thread's (and Start/Stop's)
  std::int64_t watch_from_ = 0;                // guarded by mu_

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;        // guarded by mu_
  bool full_read_needed_ = false;  // guarded by mu_
  bool restart_needed_ = false;    // guarded by mu_
  bool stopped_ = false;           // guarded by mu_: Stop() ran
  const std::shared_ptr<Health> health_ = std::make_shared<Health>();
  std::chrono::steady_clock::time_point last_fresh_;  // guarded by mu_
  std::atomic<std::uint64_t> full_reads_{0};
  std::thread control_;
};

}  // namespace strongroom::replica

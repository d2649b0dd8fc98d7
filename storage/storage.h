// storage/storage.h — Strongroom's persistent store: one LMDB environment in
// the data directory. Read this first.
//
// What it holds: named tables (Table) of byte records. Every table except
// kMeta is *authenticated*: each record is stored with its generation and a
// MAC over (table, key, generation, value) computed by a RecordAuthenticator
// (the record-MAC key lives in crypto/, which implements the interface), and
// every read checks it. kMeta holds only the bootstrap values that cannot be
// MAC'd by a key they contain (schema version, resourceVersion, cache
// generations, the wrapped MAC key) and the store digest with its MAC
// (Store::VerifyIntegrity).
//
// Writes: one writer thread applies queued Write() calls in batches: each
// call runs in its own nested LMDB transaction (so one failing call discards
// only its own changes), gets its own resourceVersion, and the batch is
// committed once (LMDB's fdatasyncs are paid once per batch). A pre-commit
// hook (the audit log) sees every staged write before the commit.
//
// Runtime integrity (StoreOptions::tag_index, SetForeignWriteCheck,
// StartIntegrityWatch): the server keeps, in memory, the tag and generation
// it last committed for every record, and every read compares what LMDB
// returns with it, so a valid old record written back into data.mdb by
// another process while the server runs is refused at once, not only at the
// next VerifyIntegrity. A periodic VerifyIntegrity latches a failure
// (integrity_problem) that fails every later authenticated read.
//
// Thread-safety: Store is thread-safe. A ReadTxn is used by one thread at a
// time (it may move between threads: MDB_NOTLS). A WriteTxn exists only on
// the writer thread, inside Write().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

// SchemaVersion is the store format this build writes. It is written at
// creation and checked at open: a store with a newer schema is refused with
// kFailedPrecondition, in one line naming both versions; an older one opens
// (reads work as before) and Store::MigrateSchema carries it forward.
// History (storage/schema_migration.cc holds the steps):
//   1  the first format.
//   2  no record changes; from 2 on a store migrates forward on open, with
//      one audited `store.migrate` record (appliance/environment.cc).
inline constexpr std::uint32_t kSchemaVersion = 2;

// SchemaMigration is what Store::MigrateSchema did: the versions before and
// after, and the resourceVersion its write committed as.
struct SchemaMigration {
  std::uint32_t from_version = 0;
  std::uint32_t to_version = 0;
  std::uint64_t resource_version = 0;
};

enum class Table : std::uint8_t {
  kMeta = 0,      // unauthenticated bootstrap values (see above)
  kSystem,        // authenticated settings: current KEK id, token not-before, ...
  kKeks,          // KEK id -> KEK description (label, created)
  kDataKeys,      // data-key id -> wrapped data key row
  kSecureValues,  // "namespace/name" -> secure value (metadata + envelope)
  kUsers,
  kTokens,
  kBindings,
  kSensuSecrets,
  kSensuProviders,
};
inline constexpr int kTableCount = 10;

// TableName returns the LMDB database name ("meta", "secure_values", ...).
std::string_view TableName(Table table);

// CacheKind names a cache in the server that must be dropped when the store
// changes underneath it (for example by the CLI while the server runs).
enum class CacheKind : std::uint8_t { kDataKeys = 0, kCredentials, kTokens, kPolicy };
inline constexpr int kCacheKindCount = 4;

using RecordTag = std::array<std::uint8_t, 32>;

// RecordAuthenticator computes the MAC that authenticates one record.
// SECURITY: the MAC must cover every argument, so a record moved to another
// table or key, or an older generation put back, fails verification.
class RecordAuthenticator {
 public:
  virtual ~RecordAuthenticator() = default;
  // Tag returns the MAC, or an error if the key is unavailable.
  virtual StatusOr<RecordTag> Tag(Table table, std::string_view key, std::uint64_t generation,
                                  ByteSpan value) const = 0;
};

// Record is one verified value with its generation (1 for a new key, +1 on
// every Put of that key).
struct Record {
  Bytes value;
  std::uint64_t generation = 0;
};

struct StoreOptions {
  // The environment lives in `<data_dir>/store/`; created if missing (mode 0700).
  std::string data_dir;
  // LMDB map size. Default 1 GiB (a sparse file; grows on disk as used).
  // When full, writes fail with kResourceExhausted and nothing is corrupted.
  // A reserve (1/16 of the map, 256 KiB to 16 MiB) is kept for deletions:
  // once free space falls below it, Put and PutMeta fail with
  // kResourceExhausted while Delete still works.
  std::size_t map_size_bytes = std::size_t{1} << 30;
  // Maximum concurrent read transactions (LMDB maxreaders). Default 256.
  unsigned max_readers = 256;
  // Maximum Write() calls committed in one LMDB transaction. Default 256.
  std::size_t max_batch = 256;
  // When true (the server), take an exclusive lock on `<data_dir>/server.lock`
  // for the Store's lifetime; Open fails with kFailedPrecondition if another
  // process holds it. The CLI leaves it false and uses ServerRunning().
  bool hold_server_lock = false;
  // Create the environment if it does not exist. Default true; when false a
  // missing store gives kNotFound.
  bool create_if_missing = true;
  // When true (the server), the first successful VerifyIntegrity also builds
  // the in-memory tag index from its scan and arms it: from then on every
  // read of an authenticated table is compared with it (ReadTxn::Get). The
  // CLI leaves it false: it reads while the server writes and has no audit
  // log to explain the server's writes with. Default false.
  // Cost: about 150 bytes of memory per live record (measured in
  // bench/store_bench.cc), a hash and a shared lock per record read.
  bool tag_index = false;
};

class Store;
// Replicated mode (issue 18): storage/replication.h.
class BatchReplicator;
struct ReplicatedBatch;
enum class ApplyMode;

// ReadTxn is a consistent snapshot. Aborted (released) on destruction. It
// may outlive its Store (the environment closes after the last snapshot).
// Thread-safety: one thread at a time (it may move between threads).
class ReadTxn {
 public:
  ReadTxn(ReadTxn&&) noexcept;
  ReadTxn& operator=(ReadTxn&&) noexcept;
  ~ReadTxn();

  // Get returns the record under `key`: kNotFound when absent,
  // kIntegrityError when its MAC does not verify (the record is never
  // returned), kFailedPrecondition when the table is authenticated and no
  // authenticator is set.
  // Once the tag index is armed (StoreOptions::tag_index) also
  // kIntegrityError, naming table and key, for an unexplained change: a
  // record whose tag or generation is not the one Strongroom last
  // committed, one it does not know, or kNotFound for one it knows exists —
  // unless a commit by another process explains it (Store::
  // SetForeignWriteCheck). And kIntegrityError for every read once
  // integrity_problem() is set.
  // SECURITY: a snapshot older than a change of the record (a request that
  // began before a concurrent write) is not compared with that change;
  // a snapshot older than one this process already saw means the store was
  // rolled back underneath it: kIntegrityError, and integrity_problem() is
  // latched.
  // Cost when armed: a hash of the key and a shared lock of one index shard,
  // no allocation; the first read after a foreign write re-verifies the
  // whole store (O(records), one at a time; other readers of changed
  // records wait).
  StatusOr<Record> Get(Table table, std::string_view key) const;
  // Scan visits, in key order, records whose key starts with `prefix` and is
  // strictly greater than `after` (empty: from the first). `visit` returns
  // false to stop. Stops with kIntegrityError at the first record whose MAC
  // fails or that the tag index does not explain (as Get; a record removed
  // from outside is found by Get and by the periodic check, not by Scan).
  Status Scan(Table table, std::string_view prefix, std::string_view after,
              const std::function<bool(std::string_view key, const Record& record)>& visit) const;
  // GetMeta reads an unauthenticated kMeta value (kNotFound when absent).
  StatusOr<Bytes> GetMeta(std::string_view key) const;
  // resource_version is the store's resourceVersion in this snapshot.
  std::uint64_t resource_version() const;
  // generation is a cache generation counter in this snapshot, read on
  // first use (most requests need none). If it cannot be read, a value
  // that equals no counter and no other such value, so a cache keyed on it
  // misses instead of serving a stale entry.
  std::uint64_t generation(CacheKind kind) const;

 private:
  friend class Store;
  friend class WriteTxn;
  struct Impl;
  explicit ReadTxn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// WriteTxn is the writer thread's view inside one Write() call.
// Its reads (Get, Scan, NextGeneration, and Put's read of the record it
// replaces) are checked against the tag index as ReadTxn's are, so a record
// put back from outside is neither used by a write nor overwritten with a
// generation Strongroom already used; records this batch already changed
// are not compared (nothing else writes while the batch holds LMDB's lock).
class WriteTxn {
 public:
  StatusOr<Record> Get(Table table, std::string_view key) const;
  Status Scan(Table table, std::string_view prefix, std::string_view after,
              const std::function<bool(std::string_view key, const Record& record)>& visit) const;
  StatusOr<Bytes> GetMeta(std::string_view key) const;
  // NextGeneration returns the generation Put(table, key, ...) would assign
  // now (1 when absent), so a caller can bind it into a ciphertext first.
  // kIntegrityError when the stored record does not verify: a tampered
  // record is never silently overwritten (Delete it first).
  StatusOr<std::uint64_t> NextGeneration(Table table, std::string_view key) const;
  // Put stores `value` with generation NextGeneration() and its MAC; returns
  // that generation. Errors as NextGeneration, kInvalidArgument for an empty
  // key or one over 511 bytes, kResourceExhausted when the map is (nearly)
  // full. A Put, Delete or PutMeta failing with kResourceExhausted or
  // kInternal fails the whole Write even if `fn` ignores it.
  // REQUIRES: table != kMeta.
  StatusOr<std::uint64_t> Put(Table table, std::string_view key, ByteSpan value);
  // Delete removes `key`: kNotFound when absent, kFailedPrecondition when
  // no authenticator is set. The record is not verified first, so a
  // tampered record can be removed (VerifyIntegrity keeps reporting it).
  Status Delete(Table table, std::string_view key);
  // PutMeta stores an unauthenticated kMeta value. kInvalidArgument for the
  // keys the store maintains ("schema_version", "resource_version",
  // "generation/...", "store_digest", "store_digest_mac",
  // "replica_revision").
  Status PutMeta(std::string_view key, ByteSpan value);
  // BumpGeneration makes every server cache of `kind` reload.
  void BumpGeneration(CacheKind kind);
  // resource_version is the value this write commits as.
  std::uint64_t resource_version() const;

 private:
  friend class Store;
  struct Impl;
  explicit WriteTxn(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

// StagedWrite describes one Write() staged in a batch, for the pre-commit
// hook.
struct StagedWrite {
  std::uint64_t resource_version;
  std::string tag;  // the caller's label (an audit request id)
};

struct WriteReceipt {
  std::uint64_t resource_version;
};

// MapUsage is how much of the LMDB map the store's data file takes.
struct MapUsage {
  std::uint64_t map_size_bytes = 0;  // the map size LMDB uses
  // Bytes up to the last page in use. Pages on LMDB's freelist count as
  // used: LMDB reuses them before it takes new ones, so this only grows.
  std::uint64_t used_bytes = 0;
};

class Store {
 public:
  // Open opens (or creates) the environment. kFailedPrecondition for a newer
  // schema version, a held server lock, or a store this process already has
  // open (LMDB forbids that); kInternal for LMDB failures.
  static StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  // ~Store drains queued writes, stops the writer thread and closes LMDB.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // SetAuthenticator installs the MAC used for authenticated tables. Call
  // once, before any read or write of them.
  void SetAuthenticator(std::shared_ptr<const RecordAuthenticator> authenticator);

  // BeginRead starts a snapshot (kResourceExhausted when max_readers are busy).
  StatusOr<ReadTxn> BeginRead() const;

  // Write queues `fn` for the writer thread and blocks until its batch is
  // committed. `fn` runs in its own nested transaction: if it returns an
  // error its changes are discarded and that error is returned; otherwise the
  // write gets the next resourceVersion. If the pre-commit hook or the commit
  // fails, every write of the batch gets kUnavailable (or kResourceExhausted
  // when the map is full) and nothing of the batch is stored. `tag` is passed
  // to the pre-commit hook. kUnavailable once the Store is being destroyed;
  // kFailedPrecondition when called from inside a write function (it would
  // wait for itself).
  StatusOr<WriteReceipt> Write(std::string tag, std::function<Status(WriteTxn&)> fn);

  // PreCommitHook runs on the writer thread with every staged write of a
  // batch, after staging and before the LMDB commit. Returning an error
  // aborts the batch.
  using PreCommitHook = std::function<Status(std::span<const StagedWrite>)>;
  void SetPreCommitHook(PreCommitHook hook);

  // CommitOutcomeHook runs on the writer thread after every LMDB commit
  // attempted once the pre-commit hook accepted the batch, with the
  // commit's result (so the audit log can cancel records of a batch that
  // did not commit).
  // SECURITY: a resourceVersion staged for a batch that did not commit is
  // never handed out again by this Store, so an audit record names one
  // write only.
  using CommitOutcomeHook = std::function<void(const Status& committed)>;
  void SetCommitOutcomeHook(CommitOutcomeHook hook);

  // VerifyIntegrity checks, in one snapshot, that the live records are
  // exactly the ones Strongroom wrote last: it verifies every record's MAC
  // (as reads do), sums their tags into D and compares D with the stored
  // store digest, whose MAC binds it to the resourceVersion. Returns OK;
  // kIntegrityError when a record fails its MAC or the store was modified
  // outside Strongroom (an old record put back, a record removed or added,
  // the digest or its MAC edited or removed) — the message names keys and
  // counters only, never a value; kFailedPrecondition when no authenticator
  // is set. A store that never held an authenticated record may lack the
  // digest and its MAC. Cost: reads every record (O(records)); meant for
  // start-up and an administrator's check, not per request.
  // SECURITY: D is the sum modulo 2^256 (big-endian) of the MAC tags of all
  // live authenticated records, kept in kMeta "store_digest" and changed by
  // every Put and Delete in the same nested transaction as the record (an
  // aborted write leaves it untouched); "store_digest_mac" =
  // Tag(kMeta, "store_digest", resourceVersion, D) is refreshed once per
  // committed batch before the pre-commit hook. A valid old record swapped
  // back in changes the sum of the tags, so it is detected here although
  // its own MAC verifies. Not detected by this alone: the whole store,
  // kMeta included, replaced by an older consistent copy (the signed audit
  // checkpoints are to carry resourceVersion and D for that; once the tag
  // index is armed, a copy older than what this process saw is refused),
  // nor tampering while the server runs until the next call (the tag index
  // and StartIntegrityWatch cover that). With StoreOptions::tag_index, the
  // first successful call builds and arms the tag index from the same scan.
  // A record modified outside Strongroom keeps this failing even after it is
  // deleted: D still counts the tag Strongroom wrote. A kMeta-only write
  // without an authenticator to a store that holds records leaves the MAC
  // stale (reported here), so install the authenticator before writing once
  // records exist.
  Status VerifyIntegrity() const;

  // ForeignWriteCheck returns the highest resourceVersion R such that every
  // commit at or below R made by another process (the CLI, SPEC 5) is
  // vouched for by a verified audit record of that process; an error when
  // that cannot be established. Installed by the store's owner (the audit
  // log). It runs on the reading thread (or the writer thread) when a read
  // meets an unexplained change in a snapshot that holds commits of another
  // process; REQUIRES: it neither calls Store::Write nor waits for a write
  // to commit (it may run while the writer waits to publish a batch), and it
  // is cheap enough to run once or twice per foreign write.
  // SECURITY: when it vouches (R >= the highest resourceVersion at or below
  // the snapshot's that is not this process's own), the store is
  // re-verified as VerifyIntegrity does in a fresh snapshot (itself
  // vouched for again) and the tag index rebuilt from that scan; the read
  // is then checked again. Not vouched, an error, or a failed verification:
  // the read fails with kIntegrityError (a failed verification also latches
  // integrity_problem()). Without a check installed, every change by another
  // process is unexplained.
  using ForeignWriteCheck = std::function<StatusOr<std::uint64_t>()>;
  // SetForeignWriteCheck installs (or, with nullptr, removes) the check. It
  // is dropped when the Store is destroyed; snapshots that outlive the
  // Store then fail closed on an unexplained change.
  void SetForeignWriteCheck(ForeignWriteCheck check);

  // CheckIntegrityNow runs VerifyIntegrity once (what the periodic watch
  // runs). On kIntegrityError it latches integrity_problem() and returns
  // it; other errors (kFailedPrecondition without an authenticator,
  // kResourceExhausted when no reader slot is free) are returned, not
  // latched. Also drops tag-index tombstones of deletions older than the
  // previous check. Cost: as VerifyIntegrity.
  Status CheckIntegrityNow();
  // IntegrityCheckObserver is told the result of every periodic check (for
  // a metric or a log line); it runs on the watch thread.
  using IntegrityCheckObserver = std::function<void(const Status& result)>;
  // StartIntegrityWatch runs CheckIntegrityNow every `every` on a
  // background thread until the Store is destroyed, then calls `observer`
  // (if set) with its result. kInvalidArgument for a non-positive interval;
  // kFailedPrecondition when already started. Meant for the server, every
  // 60 s.
  // Thread-safety: the thread starts with the first wait, so a check never
  // runs before `every` has passed.
  Status StartIntegrityWatch(std::chrono::milliseconds every,
                             IntegrityCheckObserver observer = nullptr);
  // integrity_problem returns OK, or the kIntegrityError latched by a failed
  // periodic check, a detected rollback or a failed re-verification, whose
  // message says why (for /readyz and a metric). Once set it stays set
  // until restart, and every read of an authenticated table (ReadTxn's and
  // WriteTxn's, so every Put too) fails with it; Delete and kMeta access
  // still work.
  // Cheap: one atomic load when OK.
  Status integrity_problem() const;
  // TagIndexSize is the tag index's content, for a metric.
  struct TagIndexSize {
    bool armed = false;
    std::uint64_t live_records = 0;
    std::uint64_t tombstones = 0;  // deleted records remembered until pruned
  };
  // tag_index_size counts the index (O(records): for metrics and tests).
  TagIndexSize tag_index_size() const;

  // Backup writes a consistent compacting copy of the environment (taken
  // while writes continue) to `<dest_dir>/data.mdb`. dest_dir must exist and
  // not contain data.mdb.
  Status Backup(const std::string& dest_dir) const;

  // ServerRunning returns whether a process holds `<data_dir>/server.lock`.
  static StatusOr<bool> ServerRunning(const std::string& data_dir);

  // InstallBackup replaces `<data_dir>/store/` with the copy in
  // `<backup_dir>/data.mdb` after checking that it opens as a store of a
  // supported schema; the replaced store is kept as
  // `<data_dir>/store.before-restore-<unix time>`. REQUIRES: no Store is open
  // on data_dir in any process (kFailedPrecondition if a server holds the
  // lock or this process has it open).
  static Status InstallBackup(const std::string& backup_dir, const std::string& data_dir);

  const std::string& data_dir() const;

  // schema_version is the store's schema version: what Open found on disk,
  // or kSchemaVersion once MigrateSchema has committed.
  std::uint32_t schema_version() const;
  // MigrateSchema carries a store older than kSchemaVersion forward: every
  // step of storage/schema_migration.cc from schema_version() on, and the
  // new version, in one Write() tagged `tag` (so the audit log records it
  // as one write, durably before it commits). Returns what it did, or
  // nullopt when the store is already at kSchemaVersion (nothing written).
  // Errors as Write(); on any error the store keeps its version and nothing
  // of the migration is stored.
  // REQUIRES: the authenticator is set (steps may read records); no other
  // process writes the store (the caller holds the server lock or has seen
  // that no server runs).
  StatusOr<std::optional<SchemaMigration>> MigrateSchema(std::string tag);

  // Replicated mode (storage/replication.h says how it works).
  // SetReplicator installs (or, with nullptr, removes) the replicator every
  // later batch commits through instead of LMDB. REQUIRES: the authenticator
  // is set; the replicator outlives its installation (remove it, or destroy
  // the Store, before destroying it).
  void SetReplicator(std::shared_ptr<BatchReplicator> replicator);
  // ApplyReplicated applies, in one LMDB transaction, a batch the cluster
  // committed at `revision` (or, in ApplyMode::kFull, its whole state at
  // that revision), verifying it as replication.h says; then wakes writers
  // waiting for that revision. OK without change when an incremental
  // `revision` is at or below replica_revision(). kIntegrityError (nothing
  // applied; the message names keys and counters, never a value) for a
  // record whose MAC fails, a digest record whose MAC fails, whose
  // resourceVersion is not above the replica's, or that the batch's records
  // do not add up to, a delete of a record the replica lacks, a kMeta key
  // the store maintains, or a full state older than replica_revision();
  // kFailedPrecondition without an authenticator, and for a schema version
  // newer than this binary's; LMDB errors as Write(). `trusted_floor`
  // (kFull only): a resourceVersion learnt outside the cluster (a token
  // anchor); a full state below it is refused as rolled back.
  Status ApplyReplicated(const ReplicatedBatch& batch, std::int64_t revision, ApplyMode mode,
                         std::uint64_t trusted_floor = 0);
  // replica_revision is the cluster revision of the last batch applied (0:
  // none). Cheap.
  std::int64_t replica_revision() const;
  // ExportReplica returns the whole store as a kFull batch (every record's
  // stored bytes, the kMeta values other than the counters, a digest record
  // with a fresh MAC), after verifying it as VerifyIntegrity does in the
  // same snapshot. For seeding a new cluster. Errors as VerifyIntegrity.
  StatusOr<ReplicatedBatch> ExportReplica() const;

  // map_usage returns the map's size and use as of the last commit, for
  // metrics. kInternal when LMDB fails. Cheap: no transaction.
  StatusOr<MapUsage> map_usage() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::storage

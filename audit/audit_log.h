// audit/audit_log.h — the append-only, hash-chained audit log with signed
// checkpoints (SPEC section 8), written by one sequencer thread.
//
// Callers hand in Events; the sequencer numbers them, chains them, writes
// many with one write(2) and one fdatasync (group commit) and only then
// answers their callers. Store writes are audited through the store's
// pre-commit hook (AttachTo): their records are durable before LMDB
// commits, and a `not-committed` record follows any whose commit did not
// happen. Checkpoints, signed by the token's audit key, seal the chain at
// least every second of activity, every 1,000 records, at rotation and at
// Close.
//
// Several processes may append (the server and the CLI): each group is
// written under flock(2) on `audit/.lock`, after adopting what another
// process appended.
// SECURITY: lines another process appended are adopted only when they
// chain from this process's head, every line's hash verifies and they end
// in a checkpoint valid under the audit key (the CLI seals each of its
// groups). Anything else, a file that shrank included, is tampering: the
// log stops writing (callers get kUnavailable, healthy() turns false) and
// never signs it.
// SECURITY: the trust anchor (AnchorKeeper) keeps the last sealed head and
// the store's state in the token, so a log cut, rewritten or removed, or a
// store rolled back, while this process was not running refuses Open.
//
// Thread-safety: AuditLog is thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_sink.h"
#include "audit/record.h"
#include "audit/verifier.h"
#include "base/clock.h"
#include "base/status.h"
#include "crypto/token_service.h"
#include "crypto/trust_anchor.h"
#include "storage/storage.h"

namespace strongroom::audit {

// CheckpointSigner signs checkpoints with the token's audit key.
// SECURITY: the private key never leaves the token; only Sign uses it.
class CheckpointSigner {
 public:
  virtual ~CheckpointSigner() = default;
  // public_key_pem is the audit public key (SubjectPublicKeyInfo PEM).
  virtual const std::string& public_key_pem() const = 0;
  // key_sha256 is its fingerprint (hex SHA-256 of the DER).
  virtual const std::string& key_sha256() const = 0;
  // Sign returns ECDSA P-256 raw r‖s over SHA-256(message).
  virtual StatusOr<std::array<std::uint8_t, 64>> Sign(ByteSpan message) = 0;
};

// StoreState is the store's committed state a checkpoint carries.
struct StoreState {
  std::uint64_t resource_version = 0;
  std::string digest_hex;  // "" when the store has no digest yet
};
using StoreStateSource = std::function<StatusOr<StoreState>()>;

// AnchorKeeper keeps the log's trust anchor in the token (SPEC 8): the
// last sealed head and the store's state, where someone who can write the
// data directory but cannot use the token cannot change them.
class AnchorKeeper {
 public:
  virtual ~AnchorKeeper() = default;
  // Load returns the newest anchor (nullopt when the token holds none).
  virtual StatusOr<std::optional<crypto::TrustAnchor>> Load() = 0;
  // Save records `anchor`; one not newer than the token's (by sealed seq)
  // is ignored. `replace` destroys every other anchor first (a new store,
  // `strongroom anchor adopt`).
  virtual Status Save(const crypto::TrustAnchor& anchor, bool replace) = 0;
};

// NewTokenAnchorKeeper keeps the anchor in `token` (crypto/token_service.h,
// crypto/trust_anchor.h), in this process or through `strongroom tokend`.
// `node_name` labels the anchor objects per node, since several nodes may
// share one token (crypto/trust_anchor.h); "" keeps the single-node label.
// A named node whose anchor the token does not hold yet falls back to the
// single-node anchor (the node's log from before it was named).
// REQUIRES: `token` outlives the keeper.
std::shared_ptr<AnchorKeeper> NewTokenAnchorKeeper(crypto::TokenService& token,
                                                   std::string node_name = {});

// NodeNameOfLog returns the node name the last record of the log in `dir`
// carries ("" when it names none, or the log is empty or missing), for a
// process that continues the log as it is (the CLI). kIntegrityError when
// that record does not parse.
StatusOr<std::string> NodeNameOfLog(const std::string& dir);

// AnchorMode is what Open checks against the anchor and how it may change.
enum class AnchorMode {
  // The server and the CLI: the log must reach the anchored head with the
  // anchored hash, and the store must not be below the anchored
  // resourceVersion (nor replaced at it). A store or log with no anchor is
  // refused unless both are empty.
  kRequire,
  // `strongroom restore`: as kRequire, except that the store may be below
  // the anchor (the restored backup); the next anchor records it.
  kRestore,
  // `strongroom init` of a store it has just created: nothing to check;
  // the first anchor replaces whatever the token held.
  kNewStore,
  // `strongroom anchor adopt`: nothing to check (the command verified the
  // log and the store itself); the first anchor replaces the token's.
  kAdopt,
  // `strongroom escrow recover`: the token is new (its KEKs rebuilt from
  // escrow, a new audit key): as kAdopt, and the log's last checkpoint may
  // be signed by the lost token's audit key. Then Open writes an
  // audit.key.changed record (record.h) naming both keys before anything
  // else, and the chain continues under the new key.
  kRecover,
};

// StartupVerification is where the deferred start-up verification stands
// (AuditLogOptions::defer_verification).
enum class StartupVerification {
  kNone,     // nothing was deferred: Open verified everything it checks
  kPending,  // running; nothing is signed or anchored until it has passed
  kPassed,   // passed; signing and anchoring go on as usual
  kFailed,   // failed: the log refuses every record and never signs again
};

// StartupCheck is a check that runs after Open, on a thread of its own, and
// must pass before the log signs anything (AuditLogOptions::deferred_checks):
// OK, or the error that makes the log fail closed. It must not wait for a
// record of this log to be written.
using StartupCheck = std::function<Status()>;

// StoreStateOf reads `store`'s committed resourceVersion and digest.
// REQUIRES: `store` outlives the returned function.
StoreStateSource StoreStateOf(const storage::Store& store);

struct AuditLogOptions {
  // The log directory (`<data_dir>/audit`), created 0700 if missing.
  std::string dir;
  // Rotate current.jsonl once it holds this many bytes. Default 64 MiB.
  std::uint64_t max_file_bytes = std::uint64_t{64} << 20;
  // Checkpoint after this many records. Default 1,000.
  std::uint64_t checkpoint_every_records = 1000;
  // Checkpoint when the oldest unsealed record is this old. Default 1 s.
  std::chrono::milliseconds checkpoint_interval{1000};
  // A caller waits at most this long for its record (SPEC: 503 within 2 s).
  // Default 1.5 s.
  std::chrono::milliseconds answer_within{1500};
  // false: one fdatasync per record (the baseline group commit is measured
  // against). Default true.
  bool group_commit = true;
  // Group gathering (issue 19): once the last group held several records,
  // the next group waits, at most this long after its first record is
  // queued, until as many records are queued as the last group held plus
  // those queued while it was written (the callers it answered come back),
  // so one fdatasync covers them instead of several small groups. A lone
  // record after a group of one is never held; Close ends the wait; 0 turns
  // gathering off. Only with group_commit. Default 0 (off): measured with
  // `scripts/bench.sh compare` on a quiet machine, 500 us cost 18% of the
  // creates/s (a store batch's intents arrive in one call, so the wait for
  // more only delays them) and 6% of the decrypts/s at 64 connections,
  // against the binary without it in the same run.
  std::chrono::microseconds group_gather{0};
  // Warn (and report in stats) when the file system holding the log has
  // less free space than this. Default 256 MiB.
  std::uint64_t free_space_watermark_bytes = std::uint64_t{256} << 20;
  // The actor of records the log writes itself (server start, recovery).
  Actor process_actor{"system", "strongroom", "", "", ""};
  // Refuse to open when the store is older than the last checkpoint
  // (SPEC section 4). Only `strongroom restore` turns this off.
  bool check_rollback = true;
  // Write not-committed records at Open for changes the store does not
  // have. Only a process that is the store's sole writer may (the server,
  // holding the server lock): another process's record may be durable but
  // its commit still on the way. Default true.
  bool cancel_uncommitted_at_open = true;
  // Seal every group with a checkpoint in the group's own write (a group
  // whose checkpoint cannot be signed is not written). For a process that
  // writes while another runs (the CLI beside the server), so the other
  // can adopt its lines (see "Several processes" above). Default false.
  bool seal_every_group = false;
  // Where the trust anchor lives (NewTokenAnchorKeeper); null: no anchor
  // is read or written (tests of other parts, benchmarks).
  std::shared_ptr<AnchorKeeper> anchor;
  AnchorMode anchor_mode = AnchorMode::kRequire;
  // The anchor is written at most this often (and at rotation and Close),
  // by a thread of its own so no request waits on the token for it: the
  // writes a token anchor cannot cover are those after its last update
  // (README, "Threat model"). Default 1 s.
  std::chrono::milliseconds anchor_interval{1000};
  // This node's name, on every line written (record.h; issue 18), e.g.
  // "node-1"; "" (the default) writes none, as single-node logs always did.
  // Open refuses (kFailedPrecondition, naming both) a log whose records
  // name another node, or name one when this is "": a log is one node's
  // chain. A log whose records name no node is named from Open on, with a
  // kNodeNamedAction record first. The CLI passes NodeNameOfLog's answer
  // (it continues the log it finds); the server its `[cluster] node_name`.
  std::string node_name;
  // Receives warnings (never a secret). Default: none.
  std::function<void(const std::string&)> warn;
  // Deferred start-up verification, so a server is ready in a bounded time
  // however long its log and store (issue 19). With an anchor in the token
  // (kRequire), Open reads current.jsonl only from the anchored checkpoint
  // on, and checks that tail, the anchor, the last checkpoint and the
  // store's state as always; the lines before it are verified (each line's
  // hash, the chain into the anchored record) after Open returns, on a
  // thread of their own, in parallel with every `deferred_checks` entry
  // (the server's: the store's full re-MAC, Store::CheckIntegrityNow).
  // SECURITY: until all of them have passed, records are written and
  // fsynced as usual but no checkpoint is signed, no anchor is written and
  // no file is rotated; when one fails, the log latches that failure as it
  // latches tampering: every record is refused (callers answer 503),
  // healthy() turns false, it never signs again, and `warn` and
  // `on_verified` are told. Ignored with seal_every_group (the CLI must
  // sign at once, so it verifies everything in Open). Default false.
  bool defer_verification = false;
  std::vector<StartupCheck> deferred_checks;
  // Told once, on a checking thread, the outcome of the deferred
  // verification: OK when every check passed, else the first failure.
  std::function<void(const Status&)> on_verified;
};

// kGroupSizeBounds and kFsyncSecondsBounds are the bucket bounds of
// AuditStats' group-size and fsync-time counts (a metrics histogram each).
inline constexpr std::array<double, 11> kGroupSizeBounds = {1,  2,   4,   8,   16,  32,
                                                            64, 128, 256, 512, 1024};
inline constexpr std::array<double, 12> kFsyncSecondsBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

// AuditStats are counters for health and metrics.
struct AuditStats {
  std::uint64_t records = 0;  // lines written by this process (records and checkpoints)
  std::uint64_t groups = 0;   // write(2)+fdatasync groups
  std::uint64_t fsyncs = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t failures = 0;  // groups that failed
  std::uint64_t last_group_size = 0;
  std::uint64_t fsync_micros_total = 0;
  std::uint64_t free_bytes = 0;  // at the last check
  bool low_space = false;
  std::uint64_t anchors_written = 0;  // token anchor updates
  std::uint64_t anchor_failures = 0;  // token anchor updates that failed
  std::uint64_t anchored_seq = 0;     // the sealed seq the token anchors (0: none known)
  // The log was changed by someone else in a way that does not verify
  // (TamperedWith); writing has stopped.
  bool tampered = false;
  // The deferred start-up verification (AuditLogOptions::defer_verification).
  StartupVerification startup_verification = StartupVerification::kNone;
  // group_size_counts[i] counts written groups of up to kGroupSizeBounds[i]
  // lines (above the previous bound; the last entry: above every bound);
  // their sizes add up to `records`. fsync_counts does the same for the
  // time of each fdatasync with kFsyncSecondsBounds; the times add up to
  // fsync_micros_total.
  std::array<std::uint64_t, kGroupSizeBounds.size() + 1> group_size_counts{};
  std::array<std::uint64_t, kFsyncSecondsBounds.size() + 1> fsync_counts{};
};

// PendingWrite tracks the record a store write will get from the hook.
class PendingWrite;

// AsyncDone is told the outcome of one RecordAllAsync call. MakeAsyncDone
// wraps a callable in it, so the caller's state and the log's count of the
// call's pending records share one allocation (a warm decrypt's I/O thread
// allocates nothing else for it).
class AsyncDone {
 public:
  virtual ~AsyncDone() = default;
  // Call is invoked exactly once (see RecordAllAsync).
  virtual void Call(Status status) = 0;

  // The log's own, under its mutex: records not yet written, and whether
  // Call was claimed.
  std::size_t remaining = 0;
  bool fired = false;
};

// MakeAsyncDone is an AsyncDone calling `fn(Status)`; `fn` is destroyed
// right after that call, not when the log drops its last reference.
template <typename F>
std::shared_ptr<AsyncDone> MakeAsyncDone(F fn) {
  struct Holder final : AsyncDone {
    explicit Holder(F f) : fn(std::move(f)) {}
    void Call(Status status) override {
      F once = std::move(*fn);
      fn.reset();
      once(std::move(status));
    }
    std::optional<F> fn;
  };
  return std::make_shared<Holder>(std::move(fn));
}

class AuditLog {
 public:
  // Open recovers the log in options.dir and starts the sequencer:
  //  - an incomplete final line (a crash mid-write) is moved into
  //    `quarantine-<micros>.partial` and recorded;
  //  - any other invalid line refuses with kIntegrityError naming the file
  //    and line;
  //  - the last checkpoint must verify under `signer`'s key, and (unless
  //    check_rollback is false) the store must not be older than it:
  //    kFailedPrecondition otherwise;
  //  - with an anchor keeper, the log and the store are checked against
  //    the token's anchor as options.anchor_mode says: kFailedPrecondition
  //    naming what does not match and how to proceed; a refused Open
  //    writes nothing;
  //  - records after the last checkpoint (a crash before it was sealed) are
  //    kept and named in an `audit.recovery.unsealed` record;
  //  - records whose resourceVersion is above the store's get
  //    `not-committed` records (cancel_uncommitted_at_open);
  //  - a new log starts with kLogCreatedAction carrying the key's
  //    fingerprint.
  // `sink` null means the real file sink.
  static StatusOr<std::unique_ptr<AuditLog>> Open(AuditLogOptions options,
                                                  std::unique_ptr<CheckpointSigner> signer,
                                                  StoreStateSource store_state,
                                                  std::unique_ptr<AuditSink> sink,
                                                  const Clock& clock);
  // ~AuditLog calls Close().
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Record appends `event` and returns once it is durable: OK, or
  // kUnavailable when the log failed or did not confirm within
  // answer_within (the caller must then not report success).
  Status Record(Event event);

  // RecordAll appends `events` in order (one request's records, e.g. one
  // per name of a batch decrypt) and returns once all are durable; any
  // failure is returned as Record's.
  Status RecordAll(std::vector<Event> events);

  // RecordAllAsync is RecordAll for a caller that must not block (an I/O
  // thread): it returns at once, and `done` is called exactly once, from
  // the sequencer or the log's watchdog thread, with OK when every record
  // is durable, or kUnavailable when one could not be written, was not
  // confirmed within answer_within, or the log closed. `done` must be
  // quick and must not call into this log.
  void RecordAllAsync(std::vector<Event> events, std::shared_ptr<AsyncDone> done);
  void RecordAllAsync(std::vector<Event> events, std::function<void(Status)> done) {
    RecordAllAsync(std::move(events), MakeAsyncDone(std::move(done)));
  }

  // RecordLater appends `event` without waiting (events whose request has
  // already been answered).
  void RecordLater(Event event);

  // AuthenticationFailed counts a failed authentication; the sequencer
  // writes one record per (address, reason) per second with the count.
  void AuthenticationFailed(const std::string& address, const std::string& reason);

  // ExpectWrite announces that the next store Write tagged `tag` is the
  // change `event` describes; the pre-commit hook records it with the
  // resourceVersion it commits. Tags must be unique among writes in flight.
  std::shared_ptr<PendingWrite> ExpectWrite(const std::string& tag, Event event);
  // Forget withdraws an expectation the hook did not use (the write
  // function failed). Returns true if the hook had already recorded it.
  bool Forget(const std::shared_ptr<PendingWrite>& pending);

  // AttachTo installs the pre-commit and commit-outcome hooks on `store`.
  // Writes with no expectation are recorded as system events named by
  // their tag. REQUIRES: this log outlives the store's use of the hooks.
  void AttachTo(storage::Store& store);

  // AdoptNow reads and verifies what other processes appended (as the
  // sequencer does before each group) and returns the highest
  // resourceVersion that a record of this log commits, its own or an
  // adopted one: a store write at or below it was audited and sealed.
  // kIntegrityError when the log was tampered with.
  StatusOr<std::uint64_t> AdoptNow();

  // head is the last record this process knows was written.
  Head head() const;
  // healthy is false while the last write failed, one has been pending
  // for over a second, or the log was tampered with (for good: lines that
  // another process wrote did not chain from this process's head, a hash
  // did not verify, the segment did not end in a checkpoint valid under
  // the audit key, or the file shrank), or the deferred start-up
  // verification failed (for good too); problem() says why ("" when
  // healthy).
  bool healthy() const;
  std::string problem() const;
  AuditStats stats() const;
  const std::string& public_key_pem() const;
  const std::string& key_sha256() const;
  const std::string& dir() const;
  // node_name is the node name this log writes (options.node_name; "" none).
  const std::string& node_name() const;

  // AwaitStartupVerification waits until the deferred start-up verification
  // has ended and returns its outcome: OK when it passed or nothing was
  // deferred, else the failure the log latched.
  Status AwaitStartupVerification();

  // VerifyNow verifies the files as they are, expecting this process's
  // head (so a cut at a record boundary is found). kUnavailable when the
  // sequencer is stuck in a write for over a second.
  StatusOr<VerifyReport> VerifyNow();

  // Close waits for the deferred start-up verification to end, writes what
  // is queued and a final checkpoint (none unless that verification
  // passed), then stops the sequencer. Idempotent. Waits at most a few
  // seconds for a stuck sink.
  Status Close();

  struct State;

 private:
  explicit AuditLog(std::shared_ptr<State> state);
  Status CloseSequencer();
  std::shared_ptr<State> state_;
};

// NewCheckpointSigner signs with the audit key pair of the token that
// `sign` reaches; see appliance/ for the wiring.
std::unique_ptr<CheckpointSigner> NewCheckpointSigner(
    std::string public_key_pem, std::string key_sha256,
    std::function<StatusOr<std::array<std::uint8_t, 64>>(ByteSpan)> sign);

}  // namespace strongroom::audit

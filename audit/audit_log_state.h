// audit/audit_log_state.h — private to audit/: the state AuditLog shares
// with its sequencer thread. The thread holds a shared_ptr to it, so a
// sequencer stuck in a write can be abandoned at shutdown safely.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "audit/checkpointer.h"
#include "audit/log_recovery.h"

namespace strongroom::audit {

// BucketOf is the index of the first bound >= value, or bounds.size() (the
// histograms of AuditStats, kGroupSizeBounds and kFsyncSecondsBounds).
template <std::size_t N>
std::size_t BucketOf(const std::array<double, N>& bounds, double value) {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  return i;
}

// Fate of one queued record.
enum class Fate { kQueued, kWritten, kFailed };

// Entry is one record on its way to the file.
struct Entry {
  RecordType type = RecordType::kEvent;
  Event event;
  // EncodeEventBody(event), encoded by the caller's thread so the sequencer
  // only numbers, chains and hashes; empty: encoded when written.
  std::string body;
  std::shared_ptr<Entry> target;  // kNotCommitted: the record it cancels
  // Written by the sequencer under State::mutex:
  Fate fate = Fate::kQueued;
  std::uint64_t seq = 0;
  Status error;
  bool abandoned = false;             // its waiter gave up before the sequencer took it
  std::shared_ptr<AsyncDone> waiter;  // RecordAllAsync's, else null
  SteadyTime queued_at = std::chrono::steady_clock::now();
};

}  // namespace strongroom::audit

namespace strongroom::audit {

class PendingWrite {
 public:
  PendingWrite(std::string tag, std::shared_ptr<Entry> entry)
      : tag(std::move(tag)), entry(std::move(entry)) {}
  std::string tag;
  std::shared_ptr<Entry> entry;
  bool consumed = false;  // taken by the pre-commit hook (under State::mutex)
};

// Coalesced authentication failures of one (address, reason) window.
struct FailureWindow {
  SteadyTime started;
  std::uint64_t count = 0;
};

struct AuditLog::State {
  AuditLogOptions options;
  // Signs checkpoints, knows when they are due, and holds sealing while
  // the deferred start-up verification runs (checkpointer.h).
  std::unique_ptr<Checkpointer> checkpointer;
  std::unique_ptr<AuditSink> sink;
  const Clock* clock = nullptr;

  // --- shared, under `mutex` ---
  mutable std::mutex mutex;
  std::condition_variable work;  // the sequencer waits here
  std::condition_variable done;  // callers wait here
  std::deque<std::shared_ptr<Entry>> queue;
  std::map<std::string, std::shared_ptr<PendingWrite>> expected_writes;
  std::map<std::pair<std::string, std::string>, FailureWindow> failures;
  bool closing = false;
  bool stopped = false;
  // Close gave up on a stuck sink and detached the sequencer: once the
  // sink lets go, it must not touch the token or the store (their owners
  // may be gone); it only finishes the write it was in.
  std::atomic<bool> detached{false};
  bool failed = false;  // the last group failed
  std::string failure;
  // Latched by TamperedWith: nothing is written or signed any more.
  bool tampered = false;
  std::string tampering;
  Head head;
  AuditStats stats;
  std::optional<SteadyTime> writing_since;  // a group is in write/fsync
  // Group gathering (AuditLogOptions::group_gather): how many records the
  // next group waits for (the last group's size plus those queued while it
  // was written), and, while the sequencer waits for them, that count
  // (else 0), so a record queued below it wakes nobody (WakeSequencer).
  std::size_t gather_want = 0;
  std::size_t gathering_for = 0;
  // The entries of the store batch between its two hooks (the store's
  // writer thread calls them one after the other).
  std::vector<std::shared_ptr<Entry>> committing;

  // --- the trust anchor (audit_anchor.cc), under `mutex` ---
  // log_id: the hash of the log's first record ("" until known).
  std::string log_id;
  // The newest sealed state durable in the log and the store, and the
  // newest the token holds (as far as this process knows).
  std::optional<crypto::TrustAnchor> to_anchor;
  std::optional<crypto::TrustAnchor> anchored;
  bool replace_anchor = false;  // the next Save replaces (kNewStore, kAdopt, kRecover)
  bool anchor_urgent = false;   // rotation: write without waiting
  bool anchor_stop = false;
  std::condition_variable anchor_wake;
  std::thread anchor_thread;
  // The highest resourceVersion a record of this log commits, written by
  // this process or adopted from another (AdoptNow).
  std::uint64_t vouched_resource_version = 0;

  // --- the sequencer's own (and Open's, before it starts), changed only
  // with `io_mutex` held: AdoptNow takes it to adopt from another thread,
  // and writes written_head, head_is_checkpoint, unsealed and
  // oldest_unsealed under `mutex` too, where Run reads them ---
  std::mutex io_mutex;  // held while a group is written; VerifyNow takes it
  int lock_fd = -1;
  int current_fd = -1;
  std::uint64_t current_size = 0;
  std::uint64_t current_first_seq = 0;
  Head written_head;  // head of the file as this process wrote it
  bool head_is_checkpoint = false;
  std::uint64_t unsealed = 0;  // records since the last checkpoint
  std::optional<SteadyTime> oldest_unsealed;
  std::uint64_t failed_groups = 0;  // since the last success, for the resume record
  SteadyTime next_space_check{};
  std::thread thread;

  // --- RecordAllAsync (audit_async.cc), under `mutex` ---
  // Entries with a waiter, oldest first; the watchdog fails the ones not
  // written within answer_within (the sequencer may be stuck in a write).
  std::deque<std::shared_ptr<Entry>> async_entries;
  std::condition_variable watch;
  bool watchdog_stop = false;
  std::thread watchdog;

  // --- the deferred start-up verification (audit_startup.cc) ---
  // While it runs, and for good once it failed, checkpointer is held: no
  // checkpoint is signed (so no anchor written) and no file rotated.
  // Under `mutex`: where it stands, the first failure, the checks still
  // running, and a wake-up for the sequencer to seal once it passed.
  StartupVerification verification = StartupVerification::kNone;
  Status verification_failure;
  std::size_t checks_running = 0;
  bool seal_wake = false;
  // Set at Open, read by the checking threads only.
  std::optional<UnreadPrefix> unread;  // what Open did not read
  OpenFile unread_file;                // current.jsonl as Open opened it
  std::uint64_t store_rv_at_open = 0;
  std::set<std::uint64_t> cancelled_at_open;  // by the lines Open read
  std::vector<std::thread> verifiers;

  ~State();
  // A fired waiter's callback and what to tell it, called outside `mutex`.
  using Firing = std::pair<std::shared_ptr<AsyncDone>, Status>;
  // Resolve notes that `entry` was written (or failed with `status`) and
  // adds its waiter's callback to `fire` when that settles the waiter.
  // REQUIRES: `mutex` held.
  static void Resolve(Entry& entry, const Status& status, std::vector<Firing>& fire);
  // Watch is the watchdog thread's body; StopWatchdog ends it, failing
  // every waiter still pending (Close).
  void Watch();
  void StopWatchdog();
  // Sequencer loop and its steps (audit_sequencer.cc).
  void Run();
  // WriteGroup writes `batch` (and the checkpoint due with it) with one
  // write and one fdatasync, in these steps: BeginGroup (lock, adopt,
  // rotate, the resume record), NumberGroup (the lines, numbered and
  // chained), SealGroup (the checkpoint in the same write), AppendLines,
  // then GroupWritten (REQUIRES: `mutex` held) or the failure.
  struct Group {
    std::vector<std::string> lines;
    std::vector<std::pair<Entry*, std::uint64_t>> numbered;  // an entry and its seq
    Head head_after;                                         // the head once the lines are written
    std::string first_hash;                                  // set when the group starts the log
    bool seal_tried = false;                                 // a checkpoint was due with it
    bool sealed = false;                                     // and is its last line
  };
  void WriteGroup(std::vector<std::shared_ptr<Entry>>& batch);
  Status BeginGroup(std::vector<std::shared_ptr<Entry>>& batch);
  Group NumberGroup(const std::vector<std::shared_ptr<Entry>>& batch, const std::string& now) const;
  Status SealGroup(Group& group, const std::string& now);
  void GroupWritten(const std::vector<std::shared_ptr<Entry>>& batch, const Group& group);
  // --- the current file (current_file.cc) ---
  // AppendLines writes and syncs `lines`, taking back a part written by a
  // failed call; RotateIfFull renames a full file after sealing it;
  // LockFile/UnlockFile hold the lock shared with other writers (flock);
  // CheckFreeSpace updates the watermark's figures every few seconds.
  Status AppendLines(const std::vector<std::string>& lines);
  Status RotateIfFull();
  Status LockFile();
  void UnlockFile();
  void CheckFreeSpace();
  // EncodeCheckpoint signs a checkpoint over `over` and returns its line
  // (its hash in `hash`); WriteCheckpoint writes one over the file's head.
  StatusOr<std::string> EncodeCheckpoint(const Head& over, const std::string& time,
                                         std::string* hash);
  Status WriteCheckpoint();
  Status AdoptOtherWriters();
  // TamperedWith latches the tampered state and returns the error.
  Status TamperedWith(const std::string& what);
  // ReopenCurrent opens current.jsonl for appending after another process
  // rotated it (regular file, this user's, not a symlink).
  Status ReopenCurrent();
  // --- the trust anchor (audit_anchor.cc) ---
  // CheckAnchor checks the log and the store against the token's anchor at
  // Open (options.anchor_mode); `anchored_hash` is the hash Recover found
  // for the anchored seq ("" when not found).
  // CheckNode refuses a log whose head names another node than
  // options.node_name (audit_log.h); `log_node` is "" for an unnamed log.
  Status CheckNode(const std::string& log_node) const;
  // named_here: Open names a log whose records named no node (the first
  // record written is kNodeNamedAction).
  bool named_here = false;
  Status CheckAnchor(const std::optional<crypto::TrustAnchor>& anchor, const Head& head_now,
                     const std::string& first_record_hash, const std::string& anchored_hash,
                     const StoreState& store);
  // Sealed notes a checkpoint written at `at` over the store state
  // checkpointer->sealed_store() as the next state to anchor. REQUIRES:
  // `mutex` held.
  void Sealed(const Head& at);
  // KeepAnchor is the anchor thread's body; SaveAnchor writes `to_anchor`
  // when newer than `anchored` (Close calls it once more at the end).
  void KeepAnchor();
  void SaveAnchor();
  void StopAnchorThread();
  std::vector<std::shared_ptr<Entry>> TakeWork(bool* stop);
  // GatherGroup waits, as group_gather says, for the group to fill.
  // REQUIRES: `lock` holds `mutex`.
  void GatherGroup(std::unique_lock<std::mutex>& lock);
  // WakeSequencer tells whether a record just queued must wake the
  // sequencer: not while it gathers a group the queue does not fill yet.
  // REQUIRES: `mutex` held.
  bool WakeSequencer() const { return queue.size() >= gathering_for; }
  std::string Now() const;
  // CheckpointDue tells whether the records written so far, and `more`
  // about to be, are due a checkpoint (SPEC 8: every N records or after
  // the interval).
  bool CheckpointDue(SteadyTime now, std::uint64_t more = 0) const;
  // Enqueue adds entries and wakes the sequencer (takes `mutex`).
  void Enqueue(std::vector<std::shared_ptr<Entry>> entries);
  // EventEntries makes one entry per event (moved from `events`), its
  // body encoded on the calling thread, each waited for by `waiter` (null
  // for RecordAll, whose caller awaits the entries themselves).
  static std::vector<std::shared_ptr<Entry>> EventEntries(std::vector<Event>& events,
                                                          const std::shared_ptr<AsyncDone>& waiter);
  // EventEntry is EventEntries' entry for one event.
  static std::shared_ptr<Entry> EventEntry(Event event, const std::shared_ptr<AsyncDone>& waiter);
  // Await waits for `entry` until `deadline`: OK once written, kUnavailable
  // when it failed or the deadline passed.
  Status Await(const std::shared_ptr<Entry>& entry, SteadyTime deadline);
  // NotCommitted returns the record that cancels `target`.
  std::shared_ptr<Entry> NotCommitted(const std::shared_ptr<Entry>& target,
                                      std::string reason) const;
  Status PreCommit(std::span<const storage::StagedWrite> staged);
  void CommitOutcome(const Status& committed);
  // Recover reads the files at Open (audit_recovery.cc) and returns the
  // records to write before anything else.
  StatusOr<std::vector<std::shared_ptr<Entry>>> Recover();
  // InitialEntries are those records, from what Open found (after the
  // incomplete final line is moved aside).
  StatusOr<std::vector<std::shared_ptr<Entry>>> InitialEntries(const RecoveredLog& found,
                                                               bool key_changes);
  // Uncommitted returns not-committed records for the `writes` (read at
  // Open) that the store at Open does not hold and no record in `cancelled`
  // cancels already.
  std::vector<std::shared_ptr<Entry>> Uncommitted(const std::vector<ParsedLine>& writes,
                                                  const std::set<std::uint64_t>& cancelled) const;
  // --- the deferred start-up verification (audit_startup.cc) ---
  // HoldSealing marks the verification pending and stops sealing; Open
  // calls it before the sequencer starts. StartDeferredVerification then
  // starts the checks (the unread prefix, then options.deferred_checks),
  // each on a thread of its own, once Open has written its first records.
  void HoldSealing();
  void StartDeferredVerification();
  // VerifyPrefix is the log's own check: the unread prefix, and the
  // not-committed records it is due.
  Status VerifyPrefix();
  // CheckEnded records one check's outcome; the first failure latches.
  void CheckEnded(const Status& result);
  // JoinVerifiers waits for every checking thread.
  void JoinVerifiers();
  // Refusing is the latched error that stops every write (tampering or a
  // failed start-up verification), or OK. REQUIRES: `mutex` held.
  Status Refusing() const;
};

}  // namespace strongroom::audit

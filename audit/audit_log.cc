// AuditLog's public face: queueing records, waiting for them, the store
// hooks and shutdown. The sequencer is in audit_sequencer.cc (its file's
// writes in current_file.cc), start-up in audit_recovery.cc.
#include "audit/audit_log.h"

#include <future>
#include <thread>

#include "audit/audit_log_state.h"

namespace strongroom::audit {
namespace {

constexpr std::size_t kMaxFailureKeys = 10000;
constexpr auto kStuckAfter = std::chrono::seconds(1);
constexpr auto kCloseWait = std::chrono::seconds(3);

class FunctionSigner final : public CheckpointSigner {
 public:
  FunctionSigner(std::string pem, std::string fingerprint,
                 std::function<StatusOr<std::array<std::uint8_t, 64>>(ByteSpan)> sign)
      : pem_(std::move(pem)), fingerprint_(std::move(fingerprint)), sign_(std::move(sign)) {}
  const std::string& public_key_pem() const override { return pem_; }
  const std::string& key_sha256() const override { return fingerprint_; }
  StatusOr<std::array<std::uint8_t, 64>> Sign(ByteSpan message) override { return sign_(message); }

 private:
  std::string pem_, fingerprint_;
  std::function<StatusOr<std::array<std::uint8_t, 64>>(ByteSpan)> sign_;
};

}  // namespace

std::unique_ptr<CheckpointSigner> NewCheckpointSigner(
    std::string public_key_pem, std::string key_sha256,
    std::function<StatusOr<std::array<std::uint8_t, 64>>(ByteSpan)> sign) {
  return std::make_unique<FunctionSigner>(std::move(public_key_pem), std::move(key_sha256),
                                          std::move(sign));
}

StoreStateSource StoreStateOf(const storage::Store& store) {
  return [&store]() -> StatusOr<StoreState> {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
    StoreState state;
    state.resource_version = txn.resource_version();
    StatusOr<Bytes> digest = txn.GetMeta("store_digest");
    if (digest.has_value()) {
      state.digest_hex = HexEncode(*digest);
    } else if (digest.error().code() != StatusCode::kNotFound) {
      return std::unexpected(digest.error());
    }
    return state;
  };
}

void AuditLog::State::Enqueue(std::vector<std::shared_ptr<Entry>> entries) {
  bool wake;
  {
    std::lock_guard lock(mutex);
    for (auto& entry : entries) queue.push_back(std::move(entry));
    wake = WakeSequencer();
  }
  if (wake) work.notify_one();
}

Status AuditLog::State::Await(const std::shared_ptr<Entry>& entry, SteadyTime deadline) {
  std::unique_lock lock(mutex);
  done.wait_until(lock, deadline, [&] { return entry->fate != Fate::kQueued || stopped; });
  if (entry->fate == Fate::kWritten) return Status::Ok();
  if (entry->fate == Fate::kFailed) {
    return Status::Unavailable("the audit log cannot be written: " + entry->error.message());
  }
  entry->abandoned = true;
  return Status::Unavailable("the audit log did not confirm the record in time");
}

std::shared_ptr<Entry> AuditLog::State::EventEntry(Event event,
                                                   const std::shared_ptr<AsyncDone>& waiter) {
  auto entry = std::make_shared<Entry>();
  entry->event = std::move(event);
  entry->body = EncodeEventBody(entry->event);
  entry->waiter = waiter;
  return entry;
}

std::vector<std::shared_ptr<Entry>> AuditLog::State::EventEntries(
    std::vector<Event>& events, const std::shared_ptr<AsyncDone>& waiter) {
  std::vector<std::shared_ptr<Entry>> entries;
  entries.reserve(events.size());
  for (Event& event : events) entries.push_back(EventEntry(std::move(event), waiter));
  return entries;
}

std::shared_ptr<Entry> AuditLog::State::NotCommitted(const std::shared_ptr<Entry>& target,
                                                     std::string reason) const {
  auto entry = std::make_shared<Entry>();
  entry->type = RecordType::kNotCommitted;
  entry->target = target;
  entry->event = target->event;
  entry->event.outcome = Outcome::kFailed;
  entry->event.http_status = 503;
  entry->event.reason = std::move(reason);
  entry->event.details.clear();
  return entry;
}

Status AuditLog::State::PreCommit(std::span<const storage::StagedWrite> staged) {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex);
    if (closing || stopped) return Status::Unavailable("the audit log is closed");
    for (const storage::StagedWrite& write : staged) {
      std::shared_ptr<Entry> entry;
      auto it = expected_writes.find(write.tag);
      if (it != expected_writes.end()) {
        it->second->consumed = true;
        entry = it->second->entry;
        expected_writes.erase(it);
      } else {
        // A write nobody announced (a key-lifecycle step, the CLI): the tag
        // names what it did.
        entry = std::make_shared<Entry>();
        entry->event.action = write.tag;
        entry->event.actor = options.process_actor;
        entry->event.reason = "ok";
      }
      entry->event.resource_version = write.resource_version;
      queue.push_back(entry);
      entries.push_back(std::move(entry));
    }
    committing = entries;
  }
  work.notify_one();
  const SteadyTime deadline = std::chrono::steady_clock::now() + options.answer_within;
  Status all = Status::Ok();
  for (const auto& entry : entries) {
    Status one = Await(entry, deadline);
    if (!one.ok() && all.ok()) all = one;
  }
  if (all.ok()) return all;
  // The batch will not commit. Records that may still reach the file are
  // cancelled by a not-committed record queued behind them.
  std::vector<std::shared_ptr<Entry>> cancels;
  {
    std::lock_guard lock(mutex);
    for (const auto& entry : entries) {
      if (entry->fate != Fate::kFailed) cancels.push_back(NotCommitted(entry, "audit_unavailable"));
    }
    committing.clear();
  }
  Enqueue(std::move(cancels));
  return all;
}

void AuditLog::State::CommitOutcome(const Status& committed) {
  std::vector<std::shared_ptr<Entry>> cancels;
  {
    std::lock_guard lock(mutex);
    if (committed.code() == StatusCode::kOutcomeUnknown) {
      // Replicated mode: the batch may or may not be in the cluster's store;
      // its records stand, each followed by one that says so (never a
      // not-committed record, which would deny a change that may be there).
      for (const auto& entry : committing) {
        std::shared_ptr<Entry> unknown = NotCommitted(entry, "commit_outcome_unknown");
        unknown->type = RecordType::kOutcomeUnknown;
        cancels.push_back(std::move(unknown));
      }
    } else if (!committed.ok()) {
      for (const auto& entry : committing) cancels.push_back(NotCommitted(entry, "commit_failed"));
    }
    committing.clear();
  }
  if (!cancels.empty()) Enqueue(std::move(cancels));
}

AuditLog::AuditLog(std::shared_ptr<State> state) : state_(std::move(state)) {}

AuditLog::~AuditLog() { (void)Close(); }

Status AuditLog::Record(Event event) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  return RecordAll(std::move(one));
}

Status AuditLog::RecordAll(std::vector<Event> events) {
  if (events.empty()) return Status::Ok();
  std::vector<std::shared_ptr<Entry>> entries = State::EventEntries(events, nullptr);
  {
    std::lock_guard lock(state_->mutex);
    if (state_->closing || state_->stopped) return Status::Unavailable("the audit log is closed");
  }
  std::vector<std::shared_ptr<Entry>> awaited = entries;
  state_->Enqueue(std::move(entries));
  const auto deadline = std::chrono::steady_clock::now() + state_->options.answer_within;
  for (const std::shared_ptr<Entry>& entry : awaited) {
    SR_RETURN_IF_ERROR(state_->Await(entry, deadline));
  }
  return Status::Ok();
}

void AuditLog::RecordLater(Event event) {
  auto entry = std::make_shared<Entry>();
  entry->event = std::move(event);
  state_->Enqueue({std::move(entry)});
}

void AuditLog::AuthenticationFailed(const std::string& address, const std::string& reason) {
  std::lock_guard lock(state_->mutex);
  std::pair<std::string, std::string> key(address, reason);
  // Bounded: a flood from many addresses shares one overflow record.
  if (state_->failures.size() >= kMaxFailureKeys && !state_->failures.contains(key)) {
    key.first = "*";
  }
  auto [it, inserted] = state_->failures.try_emplace(key);
  if (inserted) it->second.started = std::chrono::steady_clock::now();
  ++it->second.count;
}

std::shared_ptr<PendingWrite> AuditLog::ExpectWrite(const std::string& tag, Event event) {
  auto entry = std::make_shared<Entry>();
  entry->event = std::move(event);
  auto pending = std::make_shared<PendingWrite>(tag, std::move(entry));
  std::lock_guard lock(state_->mutex);
  state_->expected_writes[tag] = pending;
  return pending;
}

bool AuditLog::Forget(const std::shared_ptr<PendingWrite>& pending) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->expected_writes.find(pending->tag);
  if (it != state_->expected_writes.end() && it->second == pending)
    state_->expected_writes.erase(it);
  return pending->consumed;
}

void AuditLog::AttachTo(storage::Store& store) {
  std::shared_ptr<State> state = state_;
  store.SetPreCommitHook(
      [state](std::span<const storage::StagedWrite> staged) { return state->PreCommit(staged); });
  store.SetCommitOutcomeHook([state](const Status& committed) { state->CommitOutcome(committed); });
}

Head AuditLog::head() const {
  std::lock_guard lock(state_->mutex);
  return state_->head;
}

std::string AuditLog::problem() const {
  std::lock_guard lock(state_->mutex);
  SteadyTime now = std::chrono::steady_clock::now();
  if (state_->tampered) {
    return "the audit log was altered outside Strongroom (" + state_->tampering +
           "); audited requests are refused until an operator has checked the log and restarted";
  }
  if (state_->verification == StartupVerification::kFailed) {
    return "the start-up verification failed (" + state_->verification_failure.message() +
           "); audited requests are refused until an operator has checked the log and the store "
           "and restarted";
  }
  if (state_->stopped || state_->closing) return "the audit log is closed";
  if (state_->failed) return "the audit log cannot be written: " + state_->failure;
  if (state_->writing_since && now - *state_->writing_since > kStuckAfter) {
    return "an audit write has not completed for over a second";
  }
  if (!state_->queue.empty() && now - state_->queue.front()->queued_at > kStuckAfter) {
    return "audit records have waited for over a second";
  }
  return "";
}

bool AuditLog::healthy() const { return problem().empty(); }

AuditStats AuditLog::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

const std::string& AuditLog::public_key_pem() const {
  return state_->checkpointer->signer().public_key_pem();
}
const std::string& AuditLog::key_sha256() const {
  return state_->checkpointer->signer().key_sha256();
}
const std::string& AuditLog::dir() const { return state_->options.dir; }
const std::string& AuditLog::node_name() const { return state_->options.node_name; }

StatusOr<VerifyReport> AuditLog::VerifyNow() {
  // Polled with try_lock rather than a timed lock: ThreadSanitizer does not
  // see pthread_mutex_clocklock and would report the unlock as wrong.
  std::unique_lock io(state_->io_mutex, std::defer_lock);
  const SteadyTime give_up = std::chrono::steady_clock::now() + kStuckAfter;
  while (!io.try_lock()) {
    if (std::chrono::steady_clock::now() >= give_up) {
      return std::unexpected(Status::Unavailable("the audit log is busy; try again"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(state_->options.dir));
  for (LogFileSource& file : files) {
    if (file.name == kCurrentFileName) file.limit = state_->current_size;
  }
  VerifyOptions options;
  options.public_key_pem = state_->checkpointer->signer().public_key_pem();
  // After an escrow recovery the log began under the lost token's key,
  // which this process does not hold (verifier.h).
  options.current_key_only = true;
  options.expect_head = state_->written_head;
  io.unlock();
  return Verify(files, options);
}

Status AuditLog::Close() {
  // The final checkpoint is signed only once the deferred checks passed.
  state_->JoinVerifiers();
  Status closed = CloseSequencer();
  // After the sequencer: whatever it did not write is answered now.
  state_->StopWatchdog();
  // The final checkpoint is anchored before the token goes away.
  state_->StopAnchorThread();
  state_->SaveAnchor();
  return closed;
}

Status AuditLog::CloseSequencer() {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->thread.joinable()) return Status::Ok();
    state_->closing = true;
  }
  state_->work.notify_all();
  bool stopped;
  {
    std::unique_lock lock(state_->mutex);
    stopped = state_->done.wait_for(lock, kCloseWait, [&] { return state_->stopped; });
  }
  if (!stopped) {
    // A stuck sink: the thread keeps its own reference to the state, and
    // stops touching the token and the store.
    state_->detached = true;
    state_->thread.detach();
    return Status::Unavailable("the audit sequencer did not stop; the final checkpoint is missing");
  }
  state_->thread.join();
  std::lock_guard lock(state_->mutex);
  if (state_->failed) return Status::Unavailable("the audit log failed: " + state_->failure);
  return Status::Ok();
}

}  // namespace strongroom::audit

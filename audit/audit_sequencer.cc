// The sequencer: the one thread that numbers, chains, writes and syncs
// audit records (SPEC section 8's one global serialisation point), and
// seals them with checkpoints.
#include <unistd.h>

#include <algorithm>

#include "audit/audit_log_state.h"

namespace strongroom::audit {
namespace {

constexpr std::size_t kMaxGroup = 4096;
constexpr auto kIdleTick = std::chrono::milliseconds(500);

}  // namespace

AuditLog::State::~State() {
  JoinVerifiers();                          // normally Close did
  if (watchdog.joinable()) StopWatchdog();  // normally Close did
  if (anchor_thread.joinable()) StopAnchorThread();
  if (current_fd >= 0) ::close(current_fd);
  if (lock_fd >= 0) ::close(lock_fd);
  if (thread.joinable()) thread.detach();
}

std::string AuditLog::State::Now() const { return Rfc3339Micros(clock->Now()); }

std::vector<std::shared_ptr<Entry>> AuditLog::State::TakeWork(bool* stop) {
  std::unique_lock lock(mutex);
  SteadyTime now = std::chrono::steady_clock::now();
  SteadyTime wake = now + kIdleTick;
  if (oldest_unsealed) wake = std::min(wake, *oldest_unsealed + options.checkpoint_interval);
  for (const auto& [key, window] : failures) {
    wake = std::min(wake, window.started + std::chrono::seconds(1));
  }
  work.wait_until(lock, wake, [&] { return !queue.empty() || closing || seal_wake; });
  GatherGroup(lock);
  seal_wake = false;
  now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Entry>> batch;
  // Authentication failures whose second is over become one record each.
  for (auto it = failures.begin(); it != failures.end();) {
    if (!closing && now - it->second.started < std::chrono::seconds(1)) {
      ++it;
      continue;
    }
    auto entry = std::make_shared<Entry>();
    entry->event.action = "authenticate";
    entry->event.actor = Actor{"anonymous", "", "", "", it->first.first};
    entry->event.outcome = Outcome::kDenied;
    entry->event.reason = it->first.second;
    entry->event.http_status = entry->event.reason == "throttled" ? 429 : 401;
    entry->event.count = it->second.count;
    batch.push_back(std::move(entry));
    it = failures.erase(it);
  }
  while (!queue.empty() && batch.size() < kMaxGroup) {
    std::shared_ptr<Entry> entry = std::move(queue.front());
    queue.pop_front();
    // SECURITY: a caller that gave up was answered 503; its record must not
    // claim the request succeeded. (Store writes are cancelled by a
    // not-committed record instead.)
    if (entry->abandoned && entry->type == RecordType::kEvent && !entry->event.resource_version) {
      entry->event.outcome = Outcome::kFailed;
      entry->event.http_status = 503;
      entry->event.reason = "audit_unavailable";
      entry->body.clear();  // encoded again, as changed
    }
    batch.push_back(std::move(entry));
  }
  *stop = closing && queue.empty();
  return batch;
}

void AuditLog::State::GatherGroup(std::unique_lock<std::mutex>& lock) {
  // Under load the sequencer would alternate small groups (what queued
  // during the last fdatasync) while the callers it just answered are
  // still on their way back; each fdatasync costs the same kernel time
  // however few records it covers. Waiting briefly for them lets one
  // fdatasync cover them all. Bounded: a record waits at most
  // group_gather longer than it would have.
  const std::size_t want = std::min(gather_want, kMaxGroup);
  if (!options.group_commit || options.group_gather.count() <= 0 || want <= 1 || closing ||
      queue.empty() || queue.size() >= want) {
    return;
  }
  gathering_for = want;
  work.wait_for(lock, options.group_gather, [&] { return closing || queue.size() >= want; });
  gathering_for = 0;
}

void AuditLog::State::Run() {
  for (;;) {
    if (detached) return;
    bool stop = false;
    std::vector<std::shared_ptr<Entry>> batch = TakeWork(&stop);
    bool retry;
    {
      std::lock_guard lock(mutex);
      retry = failed;
    }
    if (!batch.empty() || retry) WriteGroup(batch);
    if (batch.empty()) {
      // Idle: the next record is not held (GatherGroup).
      std::lock_guard lock(mutex);
      gather_want = 0;
    }
    bool seal;
    {
      // Under `mutex`: AdoptNow (another thread) may adopt a sealed head.
      std::lock_guard lock(mutex);
      // A tampered log, or one whose start-up verification failed, is
      // never sealed.
      const bool failing = failed || !Refusing().ok();
      seal = !failing && (CheckpointDue(std::chrono::steady_clock::now()) ||
                          (stop && !head_is_checkpoint && checkpointer->allowed()));
    }
    if (seal) {
      std::lock_guard io(io_mutex);
      if (LockFile().ok()) {
        Status sealed = AdoptOtherWriters();
        if (sealed.ok()) sealed = WriteCheckpoint();
        if (!sealed.ok() && options.warn)
          options.warn("audit checkpoint failed: " + sealed.message());
        UnlockFile();
      }
    }
    CheckFreeSpace();
    if (stop) {
      std::lock_guard lock(mutex);
      stopped = true;
      done.notify_all();
      return;
    }
  }
}

void AuditLog::State::WriteGroup(std::vector<std::shared_ptr<Entry>>& batch) {
  std::lock_guard io(io_mutex);
  {
    std::lock_guard lock(mutex);
    writing_since = std::chrono::steady_clock::now();
  }
  Status status = BeginGroup(batch);
  Group group;
  group.head_after = written_head;
  if (status.ok()) {
    // One group is written at one instant: one time for all its records.
    const std::string now = Now();
    group = NumberGroup(batch, now);
    status = SealGroup(group, now);
    if (status.ok()) status = AppendLines(group.lines);
  }
  std::vector<Firing> fire;
  {
    std::lock_guard lock(mutex);
    writing_since.reset();
    // The next group waits for the callers this one answers (none is yet)
    // and for those that queued while it was written (GatherGroup).
    gather_want = status.ok() ? batch.size() + queue.size() : 0;
    for (const std::shared_ptr<Entry>& entry : batch) {
      entry->fate = status.ok() ? Fate::kWritten : Fate::kFailed;
      entry->error = status;
      Resolve(*entry, status, fire);
    }
    if (status.ok()) {
      GroupWritten(batch, group);
    } else {
      failed = true;
      failure = status.message();
      ++failed_groups;
      ++stats.failures;
    }
  }
  done.notify_all();
  for (auto& [callback, outcome] : fire) {
    callback->Call(outcome.ok() ? outcome
                                : Status::Unavailable("the audit log cannot be written: " +
                                                      outcome.message()));
  }
  if (!status.ok()) {
    if (options.warn && failed_groups == 1)
      options.warn("audit log write failed: " + status.message());
  } else if (!group.seal_tried && CheckpointDue(std::chrono::steady_clock::now())) {
    Status sealed = WriteCheckpoint();
    if (!sealed.ok() && options.warn) options.warn("audit checkpoint failed: " + sealed.message());
  }
  UnlockFile();
}

Status AuditLog::State::BeginGroup(std::vector<std::shared_ptr<Entry>>& batch) {
  SR_RETURN_IF_ERROR(LockFile());
  SR_RETURN_IF_ERROR(AdoptOtherWriters());
  SR_RETURN_IF_ERROR(RotateIfFull());
  if (failed_groups > 0) {
    // The first record after an outage says how long writing failed.
    auto resumed = std::make_shared<Entry>();
    resumed->event.action = "audit.resumed";
    resumed->event.actor = options.process_actor;
    resumed->event.reason = "ok";
    resumed->event.details.emplace_back("failed_attempts", std::to_string(failed_groups));
    batch.insert(batch.begin(), std::move(resumed));
  }
  return Status::Ok();
}

AuditLog::State::Group AuditLog::State::NumberGroup(
    const std::vector<std::shared_ptr<Entry>>& batch, const std::string& now) const {
  Group group;
  group.head_after = written_head;
  Head& at = group.head_after;
  group.lines.reserve(batch.size() + 1);
  for (const std::shared_ptr<Entry>& entry : batch) {
    std::optional<std::uint64_t> refers_to;
    if (entry->type == RecordType::kNotCommitted || entry->type == RecordType::kOutcomeUnknown) {
      const Entry* target = entry->target.get();
      for (const auto& [e, seq] : group.numbered) {
        if (e == target) refers_to = seq;
      }
      if (!refers_to && target->fate == Fate::kWritten) refers_to = target->seq;
      if (!refers_to) continue;  // its record was never written: nothing to cancel
    }
    std::string hash;
    if (entry->type == RecordType::kEvent && !entry->body.empty()) {
      group.lines.push_back(
          EncodeEventLine(at.seq + 1, now, entry->body, at.hash, &hash, options.node_name));
    } else {
      group.lines.push_back(EncodeLine(at.seq + 1, now, entry->type, &entry->event, nullptr,
                                       refers_to, at.hash, &hash, options.node_name));
    }
    at = Head{at.seq + 1, hash};
    group.numbered.emplace_back(entry.get(), at.seq);
    if (at.seq == 1) group.first_hash = hash;  // the log's id
  }
  return group;
}

Status AuditLog::State::SealGroup(Group& group, const std::string& now) {
  // A checkpoint due with this group goes into the group's own write, so
  // sealing costs no write or sync of its own. If it cannot be signed, the
  // records are written unsealed and the sequencer tries again after the
  // next group.
  if (group.lines.empty() || !CheckpointDue(std::chrono::steady_clock::now(), group.lines.size())) {
    return Status::Ok();
  }
  group.seal_tried = true;
  std::string hash;
  StatusOr<std::string> checkpoint = EncodeCheckpoint(group.head_after, now, &hash);
  if (checkpoint.has_value()) {
    group.lines.push_back(std::move(*checkpoint));
    group.head_after = Head{group.head_after.seq + 1, hash};
    group.sealed = true;
    return Status::Ok();
  }
  // Another process could not adopt the group unsealed.
  if (options.seal_every_group) return checkpoint.error();
  if (options.warn) options.warn("audit checkpoint failed: " + checkpoint.error().message());
  return Status::Ok();
}

void AuditLog::State::GroupWritten(const std::vector<std::shared_ptr<Entry>>& batch,
                                   const Group& group) {
  for (const auto& [e, seq] : group.numbered) e->seq = seq;
  // SECURITY: a caller that gave up while its record was being written was
  // answered 503; a not-committed record says the allowed request did not
  // complete. (Store writes are cancelled by CommitOutcome.)
  for (const std::shared_ptr<Entry>& entry : batch) {
    if (entry->abandoned && entry->type == RecordType::kEvent && !entry->event.resource_version &&
        entry->event.outcome == Outcome::kAllowed) {
      queue.push_front(NotCommitted(entry, "audit_unavailable"));
    }
  }
  // A skipped not-committed record has no seq and no waiter.
  written_head = group.head_after;
  head = group.head_after;
  if (!group.first_hash.empty() && log_id.empty()) log_id = group.first_hash;
  for (const auto& [e, seq] : group.numbered) {
    if (e->event.resource_version) {
      vouched_resource_version = std::max(vouched_resource_version, *e->event.resource_version);
    }
  }
  const std::size_t written = group.lines.size();
  if (group.sealed) {
    head_is_checkpoint = true;
    unsealed = 0;
    oldest_unsealed.reset();
    ++stats.checkpoints;
    Sealed(group.head_after);
  } else if (written > 0) {
    head_is_checkpoint = false;
    unsealed += written;
    if (!oldest_unsealed) oldest_unsealed = std::chrono::steady_clock::now();
  }
  stats.records += written;
  stats.groups += 1;
  ++stats.group_size_counts[BucketOf(kGroupSizeBounds, static_cast<double>(written))];
  stats.last_group_size = written - (group.sealed ? 1 : 0);
  failed = false;
  failure.clear();
  failed_groups = 0;
}

}  // namespace strongroom::audit

// AuditLog::RecordAllAsync and its watchdog (audit_log.h): records whose
// caller does not wait on a thread. The sequencer settles them when it
// writes them; the watchdog fails the ones a stuck sink holds beyond
// answer_within, so a caller is always answered in time.
#include "audit/audit_log_state.h"

namespace strongroom::audit {
namespace {

constexpr std::chrono::milliseconds kWatchInterval{50};

void CallAll(std::vector<AuditLog::State::Firing>& fire) {
  for (auto& [done, status] : fire) done->Call(status);
  fire.clear();
}

}  // namespace

void AuditLog::State::Resolve(Entry& entry, const Status& status, std::vector<Firing>& fire) {
  AsyncDone* waiter = entry.waiter.get();
  if (waiter == nullptr || waiter->fired) return;
  if (!status.ok()) {
    waiter->fired = true;
    fire.emplace_back(entry.waiter, status);
    return;
  }
  if (--waiter->remaining == 0) {
    waiter->fired = true;
    fire.emplace_back(entry.waiter, Status::Ok());
  }
}

void AuditLog::RecordAllAsync(std::vector<Event> events, std::shared_ptr<AsyncDone> done) {
  if (events.empty()) {
    done->Call(Status::Ok());
    return;
  }
  done->remaining = events.size();
  // One record (a single decrypt) needs no vector of entries.
  std::shared_ptr<Entry> single;
  std::vector<std::shared_ptr<Entry>> entries;
  if (events.size() == 1) {
    single = State::EventEntry(std::move(events.front()), done);
  } else {
    entries = State::EventEntries(events, done);
  }
  bool queued = false;
  bool wake = false;
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->closing && !state_->stopped && !state_->watchdog_stop) {
      if (single != nullptr) {
        state_->async_entries.push_back(single);
        state_->queue.push_back(std::move(single));
      }
      for (auto& entry : entries) {
        state_->async_entries.push_back(entry);
        state_->queue.push_back(std::move(entry));
      }
      queued = true;
      wake = state_->WakeSequencer();
    } else {
      done->fired = true;
    }
  }
  if (!queued) {
    done->Call(Status::Unavailable("the audit log is closed"));
    return;
  }
  if (wake) state_->work.notify_one();
}

void AuditLog::State::Watch() {
  std::vector<Firing> fire;
  std::unique_lock lock(mutex);
  for (;;) {
    watch.wait_for(lock, kWatchInterval, [&] { return watchdog_stop; });
    const SteadyTime now = std::chrono::steady_clock::now();
    while (!async_entries.empty()) {
      Entry& oldest = *async_entries.front();
      if (oldest.fate != Fate::kQueued || oldest.waiter->fired) {
        async_entries.pop_front();
        continue;
      }
      if (!watchdog_stop && now - oldest.queued_at < options.answer_within) break;
      // SECURITY: the caller is answered 503; if the record is written
      // later it says so (TakeWork), never that the request succeeded.
      oldest.abandoned = true;
      Resolve(
          oldest,
          Status::Unavailable(watchdog_stop ? "the audit log is closed"
                                            : "the audit log did not confirm the record in time"),
          fire);
      async_entries.pop_front();
    }
    const bool stop = watchdog_stop;
    lock.unlock();
    CallAll(fire);
    if (stop) return;
    lock.lock();
  }
}

void AuditLog::State::StopWatchdog() {
  {
    std::lock_guard lock(mutex);
    watchdog_stop = true;
  }
  watch.notify_all();
  if (watchdog.joinable()) watchdog.join();
}

}  // namespace strongroom::audit

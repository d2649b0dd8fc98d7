// The deferred start-up verification (AuditLogOptions::defer_verification):
// after Open, the lines it did not read and the owner's checks (the store's
// full re-MAC) run on threads of their own; sealing waits for them.
#include <pthread.h>

#include <utility>

#include "audit/audit_log_state.h"

namespace strongroom::audit {

void AuditLog::State::HoldSealing() {
  // SECURITY: from before the sequencer starts (the records Open writes
  // first included) until every check has passed, nothing is signed.
  checkpointer->Hold();
  verification = StartupVerification::kPending;
  stats.startup_verification = verification;
}

void AuditLog::State::StartDeferredVerification() {
  std::vector<StartupCheck> checks;
  if (unread) checks.emplace_back([this] { return VerifyPrefix(); });
  for (const StartupCheck& check : options.deferred_checks) checks.push_back(check);
  {
    std::lock_guard lock(mutex);
    checks_running = checks.size();
    if (checks.empty()) {  // Open read and checked everything itself
      verification = StartupVerification::kNone;
      stats.startup_verification = verification;
      seal_wake = true;
    }
  }
  if (checks.empty()) {
    checkpointer->Allow();
    work.notify_all();
    return;
  }
  for (StartupCheck& check : checks) {
    verifiers.emplace_back([this, check = std::move(check)] {  // joined by JoinVerifiers
      pthread_setname_np(pthread_self(), "sr-audit-verify");
      Status result = check();
      CheckEnded(result);
    });
  }
}

Status AuditLog::State::VerifyPrefix() {
  SR_ASSIGN_OR_RETURN(VerifiedPrefix prefix,
                      VerifyUnreadPrefix(unread_file, *unread, store_rv_at_open));
  // Writes before the anchored record that the store never committed (a
  // crash while a checkpoint was being anchored) get their not-committed
  // records now, as Open gives them to those it read.
  std::set<std::uint64_t> cancelled = cancelled_at_open;
  cancelled.insert(prefix.cancelled.begin(), prefix.cancelled.end());
  std::vector<std::shared_ptr<Entry>> cancels = Uncommitted(prefix.writes, cancelled);
  if (!cancels.empty()) Enqueue(std::move(cancels));
  return Status::Ok();
}

void AuditLog::State::CheckEnded(const Status& result) {
  std::optional<Status> outcome;  // set when this ends the verification
  {
    std::lock_guard lock(mutex);
    --checks_running;
    if (!result.ok() && verification == StartupVerification::kPending) {
      // SECURITY: fail closed at the first failure, as a refused start
      // would: no more records, no signature, for good.
      verification = StartupVerification::kFailed;
      verification_failure = result;
      outcome = result;
    } else if (checks_running == 0 && verification == StartupVerification::kPending) {
      verification = StartupVerification::kPassed;
      seal_wake = true;
      outcome = Status::Ok();
    }
    stats.startup_verification = verification;
  }
  if (!outcome) return;
  if (outcome->ok()) checkpointer->Allow();
  work.notify_all();
  done.notify_all();
  if (!outcome->ok() && options.warn) {
    options.warn("the start-up verification failed: " + outcome->message());
  }
  if (options.on_verified) options.on_verified(*outcome);
}

void AuditLog::State::JoinVerifiers() {
  for (std::thread& verifier : verifiers) {
    if (verifier.joinable()) verifier.join();
  }
}

Status AuditLog::State::Refusing() const {
  if (tampered) {
    return Status::IntegrityError("the audit log was altered outside Strongroom: " + tampering);
  }
  if (verification == StartupVerification::kFailed) {
    return Status::IntegrityError("the start-up verification failed: " +
                                  verification_failure.message());
  }
  return Status::Ok();
}

Status AuditLog::AwaitStartupVerification() {
  std::unique_lock lock(state_->mutex);
  state_->done.wait(lock, [&] { return state_->verification != StartupVerification::kPending; });
  return state_->verification == StartupVerification::kFailed ? state_->Refusing() : Status::Ok();
}

}  // namespace strongroom::audit

// Opening an audit log: reading what a previous run (or a crash) left,
// moving aside only an incomplete final line, checking the last checkpoint
// and the store against it, and starting the sequencer.
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

#include "audit/audit_log_state.h"
#include "audit/tail_reader.h"
#include "crypto/audit_signing_key.h"

namespace strongroom::audit {
namespace {

// Quarantine moves the incomplete final line of current.jsonl (`partial`,
// from byte `at`) aside.
StatusOr<std::string> Quarantine(const std::string& dir, std::string_view partial, std::uint64_t at,
                                 int current_fd, const Clock& clock) {
  std::string name = "quarantine-" + std::to_string(UnixMicros(clock.Now())) + ".partial";
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(Status::Unavailable("cannot create " + path));
  bool ok = ::write(fd, partial.data(), partial.size()) == static_cast<ssize_t>(partial.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return std::unexpected(Status::Unavailable("cannot write " + path));
  if (::ftruncate(current_fd, static_cast<off_t>(at)) != 0 || ::fsync(current_fd) != 0) {
    return std::unexpected(
        Status::Unavailable(std::string("cannot truncate the audit log: ") + std::strerror(errno)));
  }
  SR_RETURN_IF_ERROR(SyncDirectory(dir));
  return name;
}

// CheckRollback refuses a store older than (or replaced at) the log's last
// checkpoint (SPEC section 4).
Status CheckRollback(const ParsedLine& last_checkpoint, const StoreState& store) {
  const CheckpointBody& body = *last_checkpoint.checkpoint;
  bool older = store.resource_version < body.resource_version;
  bool replaced = store.resource_version == body.resource_version && !body.store_digest.empty() &&
                  store.digest_hex != body.store_digest;
  if (!older && !replaced) return Status::Ok();
  return Status::FailedPrecondition(
      "the store (resourceVersion " + std::to_string(store.resource_version) + ") is " +
      (older ? "older than" : "not the one sealed by") +
      " the audit log's last checkpoint (record " + std::to_string(last_checkpoint.seq) +
      ", resourceVersion " + std::to_string(body.resource_version) +
      "): it was rolled back or replaced; start-up refused. Use `strongroom restore` to "
      "install a backup deliberately");
}

}  // namespace

std::vector<std::shared_ptr<Entry>> AuditLog::State::Uncommitted(
    const std::vector<ParsedLine>& writes, const std::set<std::uint64_t>& cancelled) const {
  std::vector<std::shared_ptr<Entry>> out;
  if (!options.cancel_uncommitted_at_open) return out;
  for (const ParsedLine& write : writes) {
    if (*write.resource_version <= store_rv_at_open || cancelled.contains(write.seq)) continue;
    auto target = std::make_shared<Entry>();
    target->fate = Fate::kWritten;
    target->seq = write.seq;
    target->event.action = write.action;
    target->event.actor = Actor{write.actor_kind, write.actor_name, "", "", ""};
    target->event.resource.namespace_name = write.namespace_name;
    target->event.request_id = write.request_id;
    target->event.resource_version = write.resource_version;
    out.push_back(NotCommitted(target, "not_in_store_at_start"));
  }
  return out;
}

StatusOr<std::vector<std::shared_ptr<Entry>>> AuditLog::State::Recover() {
  std::optional<crypto::TrustAnchor> anchor;
  if (options.anchor) {
    SR_ASSIGN_OR_RETURN(anchor, options.anchor->Load());
  }
  SR_ASSIGN_OR_RETURN(StoreState store, checkpointer->StoreNow());
  store_rv_at_open = store.resource_version;
  // Tail-first only where the anchor is checked and the rest verified
  // after Open (AuditLogOptions::defer_verification).
  const bool tail = options.defer_verification && !options.seal_every_group && anchor &&
                    options.anchor_mode == AnchorMode::kRequire;
  SR_ASSIGN_OR_RETURN(
      RecoveredLog found,
      ReadLogAtOpen(options.dir, anchor ? anchor->sealed_seq : 0, store.resource_version, tail));
  current_fd = found.current.release();
  // SECURITY: every check that can refuse runs before anything is written,
  // so putting the honest files back lets the next start go ahead.
  // The node first: another node's log has no anchor of this node's, and
  // "another node's log" is the clearer refusal.
  SR_RETURN_IF_ERROR(CheckNode(found.last_node));
  SR_RETURN_IF_ERROR(
      CheckAnchor(anchor, found.head, found.first_record_hash, found.anchored_hash, store));
  // SECURITY: only `strongroom escrow recover` (kRecover) may continue a log
  // sealed by another audit key, and it says so in the log first.
  const bool key_changes = options.anchor_mode == AnchorMode::kRecover && found.head.seq > 0 &&
                           !found.last_key.empty() &&
                           found.last_key != checkpointer->signer().key_sha256();
  if (found.last_checkpoint && !key_changes) {
    if (!CheckCheckpoint(*found.last_checkpoint, checkpointer->signer().public_key_pem(),
                         checkpointer->signer().key_sha256())
             .ok()) {
      return std::unexpected(Status::IntegrityError(
          "the audit log's last checkpoint (record " + std::to_string(found.last_checkpoint->seq) +
          ") does not verify under the token's audit key; start-up refused"));
    }
  }
  if (options.check_rollback && found.last_checkpoint) {
    SR_RETURN_IF_ERROR(CheckRollback(*found.last_checkpoint, store));
  }
  current_first_seq = found.current_first_seq;
  current_size = found.current_size;
  written_head = found.head;
  head = found.head;
  head_is_checkpoint = found.head_is_checkpoint;
  unsealed = found.unsealed;
  if (unsealed > 0) oldest_unsealed = std::chrono::steady_clock::now();
  cancelled_at_open = found.cancelled;
  if (found.unread) {
    unread = std::move(found.unread);
    unread_file = OpenFile(::dup(current_fd));
    if (unread_file.get() < 0)
      return std::unexpected(Status::Unavailable("cannot dup the audit log"));
  }
  named_here = found.last_node.empty() && !options.node_name.empty() && head.seq > 0;
  return InitialEntries(found, key_changes);
}

Status AuditLog::State::CheckNode(const std::string& log_node) const {
  // SECURITY: one log is one node's chain (record.h). A log written by
  // another node (a data directory copied between nodes, a swapped
  // config) is refused before anything is written, as a changed name
  // would make the chain fail verification.
  if (log_node.empty() || log_node == options.node_name) return Status::Ok();
  const std::string quoted = "\"" + log_node + "\"";
  if (options.node_name.empty()) {
    return Status::FailedPrecondition("the audit log in " + options.dir + " belongs to node " +
                                      quoted +
                                      " (its records name it), and this process has no node "
                                      "name; set [cluster] node_name = " +
                                      quoted + "; start-up refused");
  }
  return Status::FailedPrecondition("the audit log in " + options.dir + " belongs to node " +
                                    quoted + ", not \"" + options.node_name +
                                    "\": each node keeps its own log; start-up refused");
}

StatusOr<std::vector<std::shared_ptr<Entry>>> AuditLog::State::InitialEntries(
    const RecoveredLog& found, bool key_changes) {
  std::vector<std::shared_ptr<Entry>> initial;
  auto system_event = [&](std::string action) {
    auto entry = std::make_shared<Entry>();
    entry->event.action = std::move(action);
    entry->event.actor = options.process_actor;
    entry->event.reason = "ok";
    return entry;
  };
  if (found.partial_at) {
    // SECURITY: only the final line may be incomplete (a crash mid-write);
    // it is kept for the auditor, not deleted.
    SR_ASSIGN_OR_RETURN(std::string name, Quarantine(options.dir, found.partial, *found.partial_at,
                                                     current_fd, *clock));
    auto entry = system_event("audit.recovery.quarantine");
    entry->event.details.emplace_back("file", name);
    entry->event.details.emplace_back("bytes", std::to_string(found.partial.size()));
    initial.push_back(std::move(entry));
  }
  if (unsealed > 0 && options.cancel_uncommitted_at_open) {
    // A crash (or someone else) left records after the last checkpoint:
    // they are sealed from now on, and this record tells the auditor which
    // ones no checkpoint of their writer covered.
    auto entry = system_event("audit.recovery.unsealed");
    entry->event.details.emplace_back("from_seq", std::to_string(head.seq - unsealed + 1));
    entry->event.details.emplace_back("to_seq", std::to_string(head.seq));
    initial.push_back(std::move(entry));
  }
  if (named_here) {
    // The log was written without a node name until now (record.h): the
    // first named record says so.
    auto named = system_event(std::string(kNodeNamedAction));
    named->event.details.emplace_back("node", options.node_name);
    initial.insert(initial.begin(), std::move(named));
  }
  for (auto& entry : Uncommitted(found.writes, found.cancelled))
    initial.push_back(std::move(entry));
  if (key_changes) {
    auto changed = system_event(std::string(kAuditKeyChangedAction));
    changed->event.details.emplace_back("key_sha256", checkpointer->signer().key_sha256());
    changed->event.details.emplace_back("previous_key_sha256", found.last_key);
    initial.insert(initial.begin(), std::move(changed));
  }
  if (head.seq == 0) {
    auto created = system_event(std::string(kLogCreatedAction));
    created->event.details.emplace_back("key_sha256", checkpointer->signer().key_sha256());
    initial.insert(initial.begin(), std::move(created));
  }
  return initial;
}

StatusOr<std::string> NodeNameOfLog(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) return std::string();
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(dir));
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    SR_ASSIGN_OR_RETURN(std::optional<ParsedLine> last, LastRecordOf(dir + "/" + it->name));
    if (last) return last->node;
  }
  return std::string();
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options,
                                                   std::unique_ptr<CheckpointSigner> signer,
                                                   StoreStateSource store_state,
                                                   std::unique_ptr<AuditSink> sink,
                                                   const Clock& clock) {
  if (options.dir.empty() || signer == nullptr) {
    return std::unexpected(Status::InvalidArgument("an audit log needs a directory and a signer"));
  }
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  state->checkpointer = std::make_unique<Checkpointer>(
      std::move(signer), std::move(store_state),
      Checkpointer::SealPolicy{state->options.checkpoint_every_records,
                               state->options.checkpoint_interval,
                               state->options.seal_every_group});
  state->sink = sink ? std::move(sink) : NewFileSink();
  state->clock = &clock;
  const std::string& dir = state->options.dir;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(
        Status::Unavailable("cannot create " + dir + ": " + std::strerror(errno)));
  }
  std::string lock_path = dir + "/" + std::string(kLockFileName);
  state->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (state->lock_fd < 0) {
    return std::unexpected(
        Status::Unavailable("cannot open " + lock_path + ": " + std::strerror(errno)));
  }
  const bool defer = state->options.defer_verification && !state->options.seal_every_group;
  if (defer) state->HoldSealing();
  SR_RETURN_IF_ERROR(state->LockFile());
  StatusOr<std::vector<std::shared_ptr<Entry>>> initial = state->Recover();
  state->UnlockFile();
  if (!initial.has_value()) return std::unexpected(initial.error());
  State* raw = state.get();
  state->thread = std::thread([keep = state, raw] {
    pthread_setname_np(pthread_self(), "sr-audit");
    raw->Run();
  });
  state->watchdog = std::thread([raw] {  // joined by Close
    pthread_setname_np(pthread_self(), "sr-audit-watch");
    raw->Watch();
  });
  if (state->options.anchor) {
    state->anchor_thread = std::thread([raw] {  // joined by Close
      pthread_setname_np(pthread_self(), "sr-audit-anchor");
      raw->KeepAnchor();
    });
  }
  std::unique_ptr<AuditLog> log(new AuditLog(state));
  const auto deadline = std::chrono::steady_clock::now() + state->options.answer_within;
  state->Enqueue(*initial);
  for (const auto& entry : *initial) SR_RETURN_IF_ERROR(state->Await(entry, deadline));
  if (defer) state->StartDeferredVerification();
  return log;
}

}  // namespace strongroom::audit

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

#include "audit/audit_log_state.h"
#include "audit/tail_reader.h"
#include "crypto/audit_signing_key.h"

namespace strongroom::audit {
namespace {

Status Refuse(const std::string& file, std::size_t line, const std::string& what) {
  return Status::IntegrityError("audit log " + file + " line " + std::to_string(line) + ": " +
                                what +
                                "; start-up refused (an auditor should look at the file before "
                                "anyone moves it)");
}

// Quarantine moves the incomplete final line of current.jsonl aside.
StatusOr<std::string> Quarantine(const std::string& dir, const std::string& bytes, std::size_t from,
                                 int current_fd, const Clock& clock) {
  std::string name = "quarantine-" + std::to_string(UnixMicros(clock.Now())) + ".partial";
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(Status::Unavailable("cannot create " + path));
  std::string_view rest = std::string_view(bytes).substr(from);
  bool ok = ::write(fd, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return std::unexpected(Status::Unavailable("cannot write " + path));
  if (::ftruncate(current_fd, static_cast<off_t>(from)) != 0 || ::fsync(current_fd) != 0) {
    return std::unexpected(
        Status::Unavailable(std::string("cannot truncate the audit log: ") + std::strerror(errno)));
  }
  SR_RETURN_IF_ERROR(SyncDirectory(dir));
  return name;
}

}  // namespace

StatusOr<std::vector<std::shared_ptr<Entry>>> AuditLog::State::Recover() {
  const std::string current = options.dir + "/" + std::string(kCurrentFileName);
  // Where the rotated files end: the chain's head before current.jsonl.
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(options.dir));
  std::optional<crypto::TrustAnchor> anchor;
  if (options.anchor) {
    SR_ASSIGN_OR_RETURN(anchor, options.anchor->Load());
  }
  const std::uint64_t anchored_seq = anchor ? anchor->sealed_seq : 0;
  std::string anchored_hash;      // the log's hash at anchored_seq, once found
  std::string first_record_hash;  // the hash of record 1, when the log still has it
  if (!files.empty() && files.front().name != kCurrentFileName) {
    StatusOr<std::optional<ParsedLine>> first =
        FirstRecordOf(options.dir + "/" + files.front().name);
    if (!first.has_value()) return std::unexpected(Refuse(files.front().name, 1, first.error().message()));
    if (*first && (*first)->seq == 1) first_record_hash = (*first)->hash;
  }
  Head head_before{0, std::string(kZeroHash)};
  std::optional<ParsedLine> last_checkpoint;
  std::string last_key;  // the audit key in force at the log's end, as the log says
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    if (it->name == kCurrentFileName) continue;
    StatusOr<std::optional<ParsedLine>> last = LastRecordOf(options.dir + "/" + it->name);
    if (!last.has_value()) return std::unexpected(Refuse(it->name, 0, last.error().message()));
    if (*last) {
      head_before = Head{(*last)->seq, (*last)->hash};
      if ((*last)->checkpoint) last_key = (*last)->checkpoint->key_sha256;
      if ((*last)->type == RecordType::kCheckpoint) last_checkpoint = *last;
    }
    break;
  }
  current_fd = ::open(current.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (current_fd < 0) {
    return std::unexpected(
        Status::Unavailable("cannot open " + current + ": " + std::strerror(errno)));
  }
  LogFileSource source{std::string(kCurrentFileName), OpenFile(::dup(current_fd))};
  SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(source));

  StoreState store;
  if (store_state) {
    SR_ASSIGN_OR_RETURN(store, store_state());
  }
  Head head_now = head_before;
  // Allowed events whose resourceVersion the store has not reached: the
  // only ones a not-committed record may be due for (kept apart, not every
  // write of the log: start-up reads the whole current file).
  std::vector<ParsedLine> writes;
  std::set<std::uint64_t> cancelled;
  unsealed = 0;
  head_is_checkpoint = last_checkpoint.has_value() && lines.lines.empty();
  current_first_seq = head_before.seq + 1;
  for (std::size_t i = 0; i < lines.lines.size(); ++i) {
    StatusOr<ParsedLine> parsed = ParseLine(lines.Line(i));
    if (!parsed.has_value()) {
      return std::unexpected(
          Refuse(std::string(kCurrentFileName), i + 1, parsed.error().message()));
    }
    // Rotated files archived away entirely: the chain here starts where
    // current.jsonl starts (offline verification needs the archive).
    if (i == 0 && head_before.seq == 0 && parsed->seq > 1) {
      head_now = Head{parsed->seq - 1, parsed->prev};
    }
    if (parsed->seq != head_now.seq + 1 || parsed->prev != head_now.hash) {
      return std::unexpected(Refuse(std::string(kCurrentFileName), i + 1,
                                    "record " + std::to_string(parsed->seq) +
                                        " does not follow record " + std::to_string(head_now.seq)));
    }
    if (i == 0) current_first_seq = parsed->seq;
    if (parsed->seq == 1) first_record_hash = parsed->hash;
    if (parsed->seq == anchored_seq) anchored_hash = parsed->hash;
    // The link from the next record proves the anchored hash when the
    // anchored record is in a rotated file archived away.
    if (i == 0 && parsed->seq == anchored_seq + 1) anchored_hash = parsed->prev;
    head_now = Head{parsed->seq, parsed->hash};
    head_is_checkpoint = parsed->type == RecordType::kCheckpoint;
    if (parsed->checkpoint) {
      last_key = parsed->checkpoint->key_sha256;
    } else if (parsed->action == kLogCreatedAction || parsed->action == kAuditKeyChangedAction) {
      last_key = parsed->key_sha256;
    }
    if (head_is_checkpoint) {
      last_checkpoint = *parsed;
      unsealed = 0;
    } else {
      ++unsealed;
    }
    if (parsed->type == RecordType::kNotCommitted && parsed->refers_to)
      cancelled.insert(*parsed->refers_to);
    if (parsed->type == RecordType::kEvent && parsed->resource_version &&
        *parsed->resource_version > store.resource_version && parsed->outcome == "allowed") {
      writes.push_back(std::move(*parsed));
    }
  }
  if (anchor && anchored_hash.empty() && anchored_seq > 0) {
    if (anchored_seq == head_before.seq) {
      anchored_hash = head_before.hash;
    } else if (anchored_seq < current_first_seq) {
      StatusOr<std::optional<ParsedLine>> found = FindRotatedRecord(options.dir, anchored_seq);
      if (!found.has_value()) return std::unexpected(Refuse("a rotated file", 0, found.error().message()));
      if (*found) anchored_hash = (*found)->hash;
    }
  }
  // SECURITY: every check that can refuse runs before anything is written,
  // so putting the honest files back lets the next start go ahead.
  SR_RETURN_IF_ERROR(CheckAnchor(anchor, head_now, first_record_hash, anchored_hash, store));
  // SECURITY: only `strongroom escrow recover` (kRecover) may continue a log
  // sealed by another audit key, and it says so in the log first.
  const bool key_changes = options.anchor_mode == AnchorMode::kRecover && head_now.seq > 0 &&
                           !last_key.empty() && last_key != signer->key_sha256();
  if (last_checkpoint && !key_changes) {
    if (!CheckCheckpoint(*last_checkpoint, signer->public_key_pem(), signer->key_sha256()).ok()) {
      return std::unexpected(Status::IntegrityError(
          "the audit log's last checkpoint (record " + std::to_string(last_checkpoint->seq) +
          ") does not verify under the token's audit key; start-up refused"));
    }
  }
  if (options.check_rollback && last_checkpoint) {
    const CheckpointBody& body = *last_checkpoint->checkpoint;
    bool older = store.resource_version < body.resource_version;
    bool replaced = store.resource_version == body.resource_version && !body.store_digest.empty() &&
                    store.digest_hex != body.store_digest;
    if (older || replaced) {
      return std::unexpected(Status::FailedPrecondition(
          "the store (resourceVersion " + std::to_string(store.resource_version) + ") is " +
          (older ? "older than" : "not the one sealed by") +
          " the audit log's last checkpoint (record " + std::to_string(last_checkpoint->seq) +
          ", resourceVersion " + std::to_string(body.resource_version) +
          "): it was rolled back or replaced; start-up refused. Use `strongroom restore` to "
          "install a backup deliberately"));
    }
  }
  std::vector<std::shared_ptr<Entry>> initial;
  auto system_event = [&](std::string action) {
    auto entry = std::make_shared<Entry>();
    entry->event.action = std::move(action);
    entry->event.actor = options.process_actor;
    entry->event.reason = "ok";
    return entry;
  };
  if (lines.partial) {
    // SECURITY: only the final line may be incomplete (a crash mid-write);
    // it is kept for the auditor, not deleted.
    SR_ASSIGN_OR_RETURN(std::string name,
                        Quarantine(options.dir, lines.bytes, *lines.partial, current_fd, *clock));
    auto entry = system_event("audit.recovery.quarantine");
    entry->event.details.emplace_back("file", name);
    entry->event.details.emplace_back("bytes", std::to_string(lines.bytes.size() - *lines.partial));
    initial.push_back(std::move(entry));
    lines.bytes.resize(*lines.partial);
  }
  current_size = lines.bytes.size();
  written_head = head_now;
  head = head_now;
  if (unsealed > 0) oldest_unsealed = std::chrono::steady_clock::now();
  if (unsealed > 0 && options.cancel_uncommitted_at_open) {
    // A crash (or someone else) left records after the last checkpoint:
    // they are sealed from now on, and this record tells the auditor which
    // ones no checkpoint of their writer covered.
    auto entry = system_event("audit.recovery.unsealed");
    entry->event.details.emplace_back("from_seq", std::to_string(head_now.seq - unsealed + 1));
    entry->event.details.emplace_back("to_seq", std::to_string(head_now.seq));
    initial.push_back(std::move(entry));
  }

  for (const ParsedLine& write : writes) {
    if (!options.cancel_uncommitted_at_open) break;
    if (*write.resource_version <= store.resource_version || cancelled.contains(write.seq))
      continue;
    auto target = std::make_shared<Entry>();
    target->fate = Fate::kWritten;
    target->seq = write.seq;
    target->event.action = write.action;
    target->event.actor = Actor{write.actor_kind, write.actor_name, "", "", ""};
    target->event.resource.namespace_name = write.namespace_name;
    target->event.request_id = write.request_id;
    target->event.resource_version = write.resource_version;
    initial.push_back(NotCommitted(target, "not_in_store_at_start"));
  }
  if (key_changes) {
    auto changed = system_event(std::string(kAuditKeyChangedAction));
    changed->event.details.emplace_back("key_sha256", signer->key_sha256());
    changed->event.details.emplace_back("previous_key_sha256", last_key);
    initial.insert(initial.begin(), std::move(changed));
  }
  if (head_now.seq == 0) {
    auto created = system_event(std::string(kLogCreatedAction));
    created->event.details.emplace_back("key_sha256", signer->key_sha256());
    initial.insert(initial.begin(), std::move(created));
  }
  return initial;
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
  state->signer = std::move(signer);
  state->store_state = std::move(store_state);
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
  return log;
}

}  // namespace strongroom::audit

// The sequencer: the one thread that numbers, chains, writes and syncs
// audit records (SPEC section 8's one global serialisation point), and
// seals them with checkpoints.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/audit_log_state.h"
#include "audit/tail_reader.h"

namespace strongroom::audit {
namespace {

constexpr std::size_t kMaxGroup = 4096;
constexpr auto kIdleTick = std::chrono::milliseconds(500);
constexpr auto kSpaceCheckEvery = std::chrono::seconds(5);

std::string Base64(ByteSpan bytes) {
  std::string out(((bytes.size() + 2) / 3) * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Status Errno(const std::string& what) {
  return Status::Unavailable(what + ": " + std::strerror(errno));
}

// BucketOf is the index of the first bound >= value, or bounds.size().
template <std::size_t N>
std::size_t BucketOf(const std::array<double, N>& bounds, double value) {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  return i;
}

}  // namespace

AuditLog::State::~State() {
  if (watchdog.joinable()) StopWatchdog();  // normally Close did
  if (anchor_thread.joinable()) StopAnchorThread();
  if (current_fd >= 0) ::close(current_fd);
  if (lock_fd >= 0) ::close(lock_fd);
  if (thread.joinable()) thread.detach();
}

std::string AuditLog::State::Now() const { return Rfc3339Micros(clock->Now()); }

bool AuditLog::State::CheckpointDue(SteadyTime now, std::uint64_t more) const {
  if (unsealed + more == 0) return false;
  if (options.seal_every_group && more > 0) return true;
  if (unsealed + more >= options.checkpoint_every_records) return true;
  return oldest_unsealed && now - *oldest_unsealed >= options.checkpoint_interval;
}

std::vector<std::shared_ptr<Entry>> AuditLog::State::TakeWork(bool* stop) {
  std::unique_lock lock(mutex);
  SteadyTime now = std::chrono::steady_clock::now();
  SteadyTime wake = now + kIdleTick;
  if (oldest_unsealed) wake = std::min(wake, *oldest_unsealed + options.checkpoint_interval);
  for (const auto& [key, window] : failures) {
    wake = std::min(wake, window.started + std::chrono::seconds(1));
  }
  work.wait_until(lock, wake, [&] { return !queue.empty() || closing; });
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
    bool seal;
    {
      // Under `mutex`: AdoptNow (another thread) may adopt a sealed head.
      std::lock_guard lock(mutex);
      const bool failing = failed || tampered;  // a tampered log is never sealed
      seal = !failing &&
             (CheckpointDue(std::chrono::steady_clock::now()) || (stop && !head_is_checkpoint));
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
  Status status = LockFile();
  if (status.ok()) status = AdoptOtherWriters();
  if (status.ok()) status = RotateIfFull();
  if (status.ok() && failed_groups > 0) {
    // The first record after an outage says how long writing failed.
    auto resumed = std::make_shared<Entry>();
    resumed->event.action = "audit.resumed";
    resumed->event.actor = options.process_actor;
    resumed->event.reason = "ok";
    resumed->event.details.emplace_back("failed_attempts", std::to_string(failed_groups));
    batch.insert(batch.begin(), std::move(resumed));
  }
  Head head_after = written_head;
  bool seal_tried = false;  // a checkpoint was due with this group
  bool sealed = false;      // and is its last line
  std::string first_hash;   // set when this group starts the log
  std::vector<std::string> lines;
  std::vector<std::pair<Entry*, std::uint64_t>> numbered;
  if (status.ok()) {
    // One group is written at one instant: one time for all its records.
    const std::string now = Now();
    lines.reserve(batch.size());
    for (const std::shared_ptr<Entry>& entry : batch) {
      std::optional<std::uint64_t> refers_to;
      if (entry->type == RecordType::kNotCommitted) {
        const Entry* target = entry->target.get();
        for (const auto& [e, seq] : numbered) {
          if (e == target) refers_to = seq;
        }
        if (!refers_to && target->fate == Fate::kWritten) refers_to = target->seq;
        if (!refers_to) continue;  // its record was never written: nothing to cancel
      }
      std::string hash;
      if (entry->type == RecordType::kEvent && !entry->body.empty()) {
        lines.push_back(
            EncodeEventLine(head_after.seq + 1, now, entry->body, head_after.hash, &hash));
      } else {
        lines.push_back(EncodeLine(head_after.seq + 1, now, entry->type, &entry->event, nullptr,
                                   refers_to, head_after.hash, &hash));
      }
      head_after = Head{head_after.seq + 1, hash};
      numbered.emplace_back(entry.get(), head_after.seq);
      if (head_after.seq == 1) first_hash = hash;  // the log's id
    }
    // A checkpoint due with this group goes into the group's own write,
    // so sealing costs no write or sync of its own. If it cannot be
    // signed, the records are written unsealed and the sequencer tries
    // again after the next group.
    if (!lines.empty() && CheckpointDue(std::chrono::steady_clock::now(), lines.size())) {
      seal_tried = true;
      std::string hash;
      StatusOr<std::string> checkpoint = EncodeCheckpoint(head_after, now, &hash);
      if (checkpoint.has_value()) {
        lines.push_back(std::move(*checkpoint));
        head_after = Head{head_after.seq + 1, hash};
        sealed = true;
      } else if (options.seal_every_group) {
        status = checkpoint.error();  // another process could not adopt it unsealed
      } else if (options.warn) {
        options.warn("audit checkpoint failed: " + checkpoint.error().message());
      }
    }
    if (status.ok()) status = AppendLines(lines);
  }
  std::vector<Firing> fire;
  {
    std::lock_guard lock(mutex);
    writing_since.reset();
    for (const std::shared_ptr<Entry>& entry : batch) {
      entry->fate = status.ok() ? Fate::kWritten : Fate::kFailed;
      entry->error = status;
      Resolve(*entry, status, fire);
    }
    if (status.ok()) {
      for (const auto& [e, seq] : numbered) e->seq = seq;
      // SECURITY: a caller that gave up while its record was being written
      // was answered 503; a not-committed record says the allowed request
      // did not complete. (Store writes are cancelled by CommitOutcome.)
      for (const std::shared_ptr<Entry>& entry : batch) {
        if (entry->abandoned && entry->type == RecordType::kEvent &&
            !entry->event.resource_version && entry->event.outcome == Outcome::kAllowed) {
          queue.push_front(NotCommitted(entry, "audit_unavailable"));
        }
      }
      // A skipped not-committed record has no seq and no waiter.
      written_head = head_after;
      head = head_after;
      if (!first_hash.empty() && log_id.empty()) log_id = first_hash;
      for (const auto& [e, seq] : numbered) {
        if (e->event.resource_version) {
          vouched_resource_version = std::max(vouched_resource_version, *e->event.resource_version);
        }
      }
      if (sealed) {
        head_is_checkpoint = true;
        unsealed = 0;
        oldest_unsealed.reset();
        ++stats.checkpoints;
        Sealed(head_after);
      } else if (!lines.empty()) {
        head_is_checkpoint = false;
        unsealed += lines.size();
        if (!oldest_unsealed) oldest_unsealed = std::chrono::steady_clock::now();
      }
      stats.records += lines.size();
      stats.groups += 1;
      ++stats.group_size_counts[BucketOf(kGroupSizeBounds, static_cast<double>(lines.size()))];
      stats.last_group_size = lines.size() - (sealed ? 1 : 0);
      failed = false;
      failure.clear();
      failed_groups = 0;
    } else {
      failed = true;
      failure = status.message();
      ++failed_groups;
      ++stats.failures;
    }
  }
  done.notify_all();
  for (auto& [callback, outcome] : fire) {
    callback(outcome.ok()
                 ? outcome
                 : Status::Unavailable("the audit log cannot be written: " + outcome.message()));
  }
  if (!status.ok()) {
    if (options.warn && failed_groups == 1)
      options.warn("audit log write failed: " + status.message());
  } else if (!seal_tried && CheckpointDue(std::chrono::steady_clock::now())) {
    Status sealed = WriteCheckpoint();
    if (!sealed.ok() && options.warn) options.warn("audit checkpoint failed: " + sealed.message());
  }
  UnlockFile();
}

Status AuditLog::State::AppendLines(const std::vector<std::string>& lines) {
  if (lines.empty()) return Status::Ok();
  const std::uint64_t good_size = current_size;
  auto sync = [&]() -> Status {
    auto started = std::chrono::steady_clock::now();
    Status synced = sink->Sync(current_fd);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    std::lock_guard lock(mutex);
    ++stats.fsyncs;
    stats.fsync_micros_total += static_cast<std::uint64_t>(micros.count());
    ++stats.fsync_counts[BucketOf(kFsyncSecondsBounds, static_cast<double>(micros.count()) / 1e6)];
    return synced;
  };
  Status status = Status::Ok();
  std::uint64_t size = current_size;
  if (options.group_commit) {
    std::size_t total = 0;
    for (const std::string& line : lines) total += line.size();
    std::string all;
    all.reserve(total);
    for (const std::string& line : lines) all += line;
    status = sink->WriteAll(current_fd, AsBytes(all));
    if (status.ok()) status = sync();
    size += all.size();
  } else {
    for (const std::string& line : lines) {
      status = sink->WriteAll(current_fd, AsBytes(line));
      if (status.ok()) status = sync();
      if (!status.ok()) break;
      size += line.size();
    }
  }
  if (!status.ok()) {
    // Take back a partly written group so the chain stays whole; if even
    // that fails, start-up recovery quarantines the incomplete line.
    if (::ftruncate(current_fd, static_cast<off_t>(good_size)) != 0 && options.warn) {
      options.warn(std::string("cannot truncate a failed audit write: ") + std::strerror(errno));
    }
    return status;
  }
  current_size = size;
  return Status::Ok();
}

StatusOr<std::string> AuditLog::State::EncodeCheckpoint(const Head& over, const std::string& time,
                                                        std::string* hash) {
  if (detached)
    return std::unexpected(Status::Unavailable("the audit log was abandoned at shutdown"));
  CheckpointBody body;
  body.head_seq = over.seq;
  body.head_hash = over.hash;
  if (store_state) {
    SR_ASSIGN_OR_RETURN(sealing_store, store_state());
    body.resource_version = sealing_store.resource_version;
    body.store_digest = sealing_store.digest_hex;
  }
  body.key_sha256 = signer->key_sha256();
  SR_ASSIGN_OR_RETURN(auto signature, signer->Sign(AsBytes(CheckpointMessage(body))));
  body.signature = Base64(signature);
  return EncodeLine(over.seq + 1, time, RecordType::kCheckpoint, nullptr, &body, std::nullopt,
                    over.hash, hash);
}

Status AuditLog::State::WriteCheckpoint() {
  std::string hash;
  SR_ASSIGN_OR_RETURN(std::string line, EncodeCheckpoint(written_head, Now(), &hash));
  SR_RETURN_IF_ERROR(AppendLines({line}));
  std::lock_guard lock(mutex);
  written_head = Head{written_head.seq + 1, hash};
  head = written_head;
  head_is_checkpoint = true;
  unsealed = 0;
  oldest_unsealed.reset();
  ++stats.checkpoints;
  ++stats.records;
  Sealed(written_head);
  return Status::Ok();
}

Status AuditLog::State::RotateIfFull() {
  if (current_size < options.max_file_bytes) return Status::Ok();
  if (!head_is_checkpoint) SR_RETURN_IF_ERROR(WriteCheckpoint());
  const std::string current = options.dir + "/" + std::string(kCurrentFileName);
  const std::string rotated = options.dir + "/" + RotatedFileName(current_first_seq);
  if (::rename(current.c_str(), rotated.c_str()) != 0) return Errno("cannot rotate the audit log");
  int fd = ::open(current.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
  if (fd < 0) return Errno("cannot create a new audit file");
  ::close(current_fd);
  current_fd = fd;
  current_size = 0;
  current_first_seq = written_head.seq + 1;
  {
    // Rotation moves the anchored head into another file: anchor now.
    std::lock_guard lock(mutex);
    anchor_urgent = true;
  }
  anchor_wake.notify_all();
  return SyncDirectory(options.dir);
}

Status AuditLog::State::LockFile() {
  while (::flock(lock_fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Errno("cannot lock the audit log");
  }
  return Status::Ok();
}

void AuditLog::State::UnlockFile() { ::flock(lock_fd, LOCK_UN); }

void AuditLog::State::CheckFreeSpace() {
  SteadyTime now = std::chrono::steady_clock::now();
  if (now < next_space_check) return;
  next_space_check = now + kSpaceCheckEvery;
  struct statvfs fs;
  if (::fstatvfs(current_fd, &fs) != 0) return;
  std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  bool low = free_bytes < options.free_space_watermark_bytes;
  bool was_low;
  {
    std::lock_guard lock(mutex);
    was_low = stats.low_space;
    stats.free_bytes = free_bytes;
    stats.low_space = low;
  }
  if (low && !was_low && options.warn) {
    options.warn("the audit log's file system has " + std::to_string(free_bytes >> 20) +
                 " MiB free, below the watermark of " +
                 std::to_string(options.free_space_watermark_bytes >> 20) +
                 " MiB: archive rotated audit files before it fills");
  }
}

}  // namespace strongroom::audit

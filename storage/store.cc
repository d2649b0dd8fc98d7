// Store: opening the environment, snapshots (ReadTxn), and the caller's side
// of Write(). The writer thread is in write_batch.cc, WriteTxn in
// write_txn.cc, Backup/InstallBackup in backup.cc.
#include <pthread.h>

#include <atomic>
#include <utility>

#include "storage/posix_files.h"
#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

Status CheckOptions(const StoreOptions& options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("StoreOptions.data_dir is empty");
  if (options.map_size_bytes == 0) {
    return Status::InvalidArgument("StoreOptions.map_size_bytes is 0");
  }
  if (options.max_readers == 0) return Status::InvalidArgument("StoreOptions.max_readers is 0");
  if (options.max_batch == 0) return Status::InvalidArgument("StoreOptions.max_batch is 0");
  return Status::Ok();
}

std::string StoreDir(const std::string& data_dir) { return data_dir + "/store"; }

}  // namespace

// ---- ReadTxn ----

ReadTxn::ReadTxn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadTxn::ReadTxn(ReadTxn&&) noexcept = default;
ReadTxn& ReadTxn::operator=(ReadTxn&&) noexcept = default;
ReadTxn::~ReadTxn() = default;

StatusOr<Record> ReadTxn::Get(Table table, std::string_view key) const {
  return GetRecord(impl_->Context(), table, key);
}

Status ReadTxn::Scan(Table table, std::string_view prefix, std::string_view after,
                     const std::function<bool(std::string_view, const Record&)>& visit) const {
  return ScanRecords(impl_->Context(), table, prefix, after, visit);
}

StatusOr<Bytes> ReadTxn::GetMeta(std::string_view key) const {
  return GetMetaValue(impl_->Context(), key);
}

std::uint64_t ReadTxn::resource_version() const { return impl_->resource_version; }

std::uint64_t ReadTxn::generation(CacheKind kind) const {
  std::optional<std::uint64_t>& cached = impl_->generations[static_cast<std::size_t>(kind)];
  if (!cached) {
    StatusOr<std::uint64_t> read = GetMetaU64(impl_->Context(), GenerationKey(kind));
    if (!read.has_value()) {
      // Counters count from 0 by one; this range is never reached, and no
      // value in it is handed out twice.
      static std::atomic<std::uint64_t> unknown{std::uint64_t{1} << 63};
      return unknown.fetch_add(1, std::memory_order_relaxed);
    }
    cached = *read;
  }
  return *cached;
}

// ---- Store ----

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Store::Impl::~Impl() {
  StopWatchThread();
  {
    // A writer waiting for the replica to apply gives up now.
    std::lock_guard lock(replica_mu);
    closing = true;
  }
  replica_cv.notify_all();
  // Writes queued before this point still run; later ones get kUnavailable.
  queue.Close();
  if (writer.joinable()) writer.join();
  if (watch != nullptr) watch->Close();
}

void Store::Impl::StopWatchThread() {
  std::thread stopping;
  {
    std::lock_guard lock(watch_thread_mutex);
    watch_thread_stop = true;
    stopping = std::move(watch_thread);
  }
  watch_thread_wake.notify_all();
  if (stopping.joinable()) stopping.join();
}

StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  SR_RETURN_IF_ERROR(CheckOptions(options));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  SR_RETURN_IF_ERROR(EnsurePrivateDir(options.data_dir, options.create_if_missing));
  // The server lock comes before LMDB: a refused second server must not
  // open (and then close) the environment the first one uses.
  if (options.hold_server_lock) {
    SR_ASSIGN_OR_RETURN(impl->server_lock, ServerLock::Acquire(options.data_dir));
  }
  const std::string dir = StoreDir(options.data_dir);
  SR_RETURN_IF_ERROR(EnsurePrivateDir(dir, options.create_if_missing));
  if (!options.create_if_missing) {
    SR_ASSIGN_OR_RETURN(bool exists, PathExists(dir + "/data.mdb"));
    if (!exists) return std::unexpected(Status::NotFound("no store in " + dir));
  }
  SR_ASSIGN_OR_RETURN(impl->env, StoreEnv::Open(dir, options));
  impl->schema_version.store(impl->env->schema_version_at_open(), std::memory_order_release);
  impl->watch = std::make_shared<IntegrityWatch>(impl->env, options.tag_index);
  {
    SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(impl->env->env(), nullptr, MDB_RDONLY));
    TxnContext context{txn.get(), &impl->env->tables(), nullptr, impl->env->map_size_bytes()};
    SR_ASSIGN_OR_RETURN(std::uint64_t applied, GetMetaU64(context, kReplicaRevisionKey));
    impl->replica_revision = static_cast<std::int64_t>(applied);
  }
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "sr-store");
    raw->WriterLoop();
  });
  impl->writer_id = impl->writer.get_id();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

void Store::SetAuthenticator(std::shared_ptr<const RecordAuthenticator> authenticator) {
  impl_->authenticator.Set(std::move(authenticator));
}

void Store::SetCommitOutcomeHook(CommitOutcomeHook hook) {
  std::lock_guard lock(impl_->config_mutex);
  impl_->commit_outcome_hook = std::move(hook);
}

void Store::SetPreCommitHook(PreCommitHook hook) {
  std::lock_guard lock(impl_->config_mutex);
  impl_->pre_commit_hook = std::move(hook);
}

StatusOr<ReadTxn> Store::BeginRead() const {
  auto impl = std::make_unique<ReadTxn::Impl>();
  impl->env = impl_->env;
  impl->authenticator = impl_->Authenticator();
  // Read before the snapshot begins: the snapshot cannot be older unless
  // the store went back in time.
  const std::uint64_t floor = impl_->watch->published_rv();
  SR_ASSIGN_OR_RETURN(
      impl->txn, impl_->env->read_txns().Begin(impl_->env->env(), impl_->env->map_size_bytes()));
  // Counters come from this snapshot, so a request sees the same values as
  // the records it reads; the cache generations are read when first asked.
  SR_ASSIGN_OR_RETURN(impl->resource_version, GetMetaU64(impl->Context(), kResourceVersionKey));
  // A rollback latches integrity_problem(), which every authenticated read
  // of this snapshot then reports; kMeta reads stay possible.
  (void)impl_->watch->CheckSnapshot(floor, impl->resource_version);
  impl->watch.emplace(impl_->watch, impl->resource_version);
  return ReadTxn(std::move(impl));
}

void Store::SetForeignWriteCheck(ForeignWriteCheck check) {
  impl_->watch->SetForeignWriteCheck(std::move(check));
}

Status Store::Impl::CheckIntegrity() {
  std::shared_ptr<const RecordAuthenticator> current = Authenticator();
  if (current == nullptr) {
    return Status::FailedPrecondition(
        "no record authenticator is set; the store's integrity cannot be verified");
  }
  return watch->CheckNow(*current);
}

Status Store::CheckIntegrityNow() { return impl_->CheckIntegrity(); }

Status Store::StartIntegrityWatch(std::chrono::milliseconds every,
                                  IntegrityCheckObserver observer) {
  if (every <= std::chrono::milliseconds::zero()) {
    return Status::InvalidArgument("the integrity check interval must be positive");
  }
  std::lock_guard lock(impl_->watch_thread_mutex);
  if (impl_->watch_thread.joinable() || impl_->watch_thread_stop) {
    return Status::FailedPrecondition("the integrity watch is already running");
  }
  // The thread uses Impl, whose destructor stops and joins it first.
  Impl* impl = impl_.get();
  impl->watch_thread = std::thread([impl, every, observer = std::move(observer)] {
    pthread_setname_np(pthread_self(), "sr-store-watch");
    std::unique_lock wait_lock(impl->watch_thread_mutex);
    for (;;) {
      if (impl->watch_thread_wake.wait_for(wait_lock, every,
                                           [impl] { return impl->watch_thread_stop; })) {
        return;
      }
      wait_lock.unlock();
      Status result = impl->CheckIntegrity();
      if (observer) observer(result);
      wait_lock.lock();
    }
  });
  return Status::Ok();
}

Status Store::integrity_problem() const { return impl_->watch->problem(); }

Store::TagIndexSize Store::tag_index_size() const {
  TagIndexStats stats = impl_->watch->index_stats();
  return TagIndexSize{impl_->watch->armed(), stats.live, stats.tombstones};
}

StatusOr<WriteReceipt> Store::Write(std::string tag, std::function<Status(WriteTxn&)> fn) {
  if (std::this_thread::get_id() == impl_->writer_id) {
    // It would wait for the batch that is running it.
    return std::unexpected(
        Status::FailedPrecondition("Store::Write called from inside a write function"));
  }
  auto write = std::make_unique<PendingWrite>();
  write->tag = std::move(tag);
  write->fn = std::move(fn);
  std::future<StatusOr<WriteReceipt>> done = write->done.get_future();
  SR_RETURN_IF_ERROR(impl_->queue.Push(std::move(write)));
  return done.get();
}

StatusOr<bool> Store::ServerRunning(const std::string& data_dir) {
  return ServerLock::IsHeld(data_dir);
}

const std::string& Store::data_dir() const { return impl_->options.data_dir; }

StatusOr<MapUsage> Store::map_usage() const {
  MDB_envinfo info{};
  MDB_stat stat{};
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_info(impl_->env->env(), &info), "mdb_env_info"));
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_stat(impl_->env->env(), &stat), "mdb_env_stat"));
  return MapUsage{info.me_mapsize, (info.me_last_pgno + 1) * std::uint64_t{stat.ms_psize}};
}

}  // namespace strongroom::storage

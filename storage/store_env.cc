#include "storage/store_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// The directories (by device and inode) this process has open as a store.
std::mutex registry_mutex;
std::set<std::pair<dev_t, ino_t>>& OpenDirs() {
  static auto* dirs = new std::set<std::pair<dev_t, ino_t>>();
  return *dirs;
}

StatusOr<std::pair<dev_t, ino_t>> DirIdentity(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return std::unexpected(
        Status::Internal("cannot stat " + dir + ": " + std::strerror(errno)));
  }
  return std::pair{st.st_dev, st.st_ino};
}

StatusOr<std::pair<dev_t, ino_t>> Register(const std::string& dir) {
  SR_ASSIGN_OR_RETURN(auto id, DirIdentity(dir));
  std::lock_guard lock(registry_mutex);
  if (!OpenDirs().insert(id).second) {
    return std::unexpected(Status::FailedPrecondition("the store in " + dir +
                                                      " is already open in this process"));
  }
  return id;
}

}  // namespace

StatusOr<std::uint32_t> CheckSchemaVersion(MDB_txn* txn, MDB_dbi meta) {
  MDB_val key = ToVal(kSchemaVersionKey);
  MDB_val value{};
  int rc = mdb_get(txn, meta, &key, &value);
  if (rc != MDB_SUCCESS) return std::unexpected(LmdbStatus(rc, "store schema version"));
  if (value.mv_size != 4) {
    return std::unexpected(Status::Internal("store schema version is malformed"));
  }
  ByteReader reader(AsBytes(FromVal(value)));
  std::uint32_t version = *reader.U32("schema version");
  if (version > kSchemaVersion) {
    // One line naming both versions (an operator who downgraded reads it).
    return std::unexpected(Status::FailedPrecondition(
        "the store has schema version " + std::to_string(version) +
        ", newer than schema version " + std::to_string(kSchemaVersion) +
        " that this strongroom supports: it was written by a newer strongroom; run that "
        "version (or newer)"));
  }
  if (version == 0) return std::unexpected(Status::Internal("store schema version 0 is invalid"));
  return version;
}

StatusOr<std::shared_ptr<StoreEnv>> StoreEnv::Open(const std::string& dir,
                                                   const StoreOptions& options) {
  SR_ASSIGN_OR_RETURN(auto id, Register(dir));
  std::shared_ptr<StoreEnv> store_env(new StoreEnv());
  store_env->registered_id_ = id;
  store_env->registered_ = true;

  SR_ASSIGN_OR_RETURN(store_env->env_, CreateEnv());
  MDB_env* env = store_env->env();
  SR_RETURN_IF_ERROR(
      LmdbStatus(mdb_env_set_mapsize(env, options.map_size_bytes), "mdb_env_set_mapsize"));
  SR_RETURN_IF_ERROR(
      LmdbStatus(mdb_env_set_maxreaders(env, options.max_readers), "mdb_env_set_maxreaders"));
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_set_maxdbs(env, kTableCount), "mdb_env_set_maxdbs"));
  // MDB_NOTLS: a read transaction is not tied to its thread (ReadTxn may
  // move between threads) and reader slots belong to transactions.
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600),
                                "cannot open the store in " + dir));
  MDB_envinfo info{};
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_info(env, &info), "mdb_env_info"));
  store_env->map_size_bytes_ = info.me_mapsize;

  SR_RETURN_IF_ERROR(store_env->Initialize());
  return store_env;
}

// Initialize opens every table and checks (or, in a new store, writes) the
// schema version, in one write transaction.
Status StoreEnv::Initialize() {
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(env(), nullptr, 0, map_size_bytes_));
  for (Table table : kAllTables) {
    std::string name(TableName(table));
    MDB_dbi dbi = 0;
    SR_RETURN_IF_ERROR(LmdbStatus(mdb_dbi_open(txn.get(), name.c_str(), MDB_CREATE, &dbi),
                                  "cannot open table " + name, map_size_bytes_));
    tables_[static_cast<std::size_t>(table)] = dbi;
  }
  MDB_dbi meta = tables_[static_cast<std::size_t>(Table::kMeta)];
  StatusOr<std::uint32_t> version = CheckSchemaVersion(txn.get(), meta);
  if (!version.has_value()) {
    if (version.error().code() != StatusCode::kNotFound) return version.error();
    // A new store: record the schema it is written in.
    ByteWriter out;
    out.U32(kSchemaVersion);
    MDB_val key = ToVal(kSchemaVersionKey);
    MDB_val value = ToVal(AsChars(out.bytes()));
    SR_RETURN_IF_ERROR(LmdbStatus(mdb_put(txn.get(), meta, &key, &value, 0),
                                  "cannot write the schema version", map_size_bytes_));
    schema_version_at_open_ = kSchemaVersion;
  } else {
    // An older schema opens as it is; Store::MigrateSchema carries it
    // forward once the audit log can record that.
    schema_version_at_open_ = *version;
  }
  return txn.Commit(map_size_bytes_);
}

StoreEnv::~StoreEnv() {
  read_txns_.Clear();  // no transaction outlives the environment
  env_.reset();
  if (registered_) {
    std::lock_guard lock(registry_mutex);
    OpenDirs().erase(registered_id_);
  }
}

bool IsOpenInProcess(const std::string& dir) {
  StatusOr<std::pair<dev_t, ino_t>> id = DirIdentity(dir);
  if (!id.has_value()) return false;
  std::lock_guard lock(registry_mutex);
  return OpenDirs().contains(*id);
}

Status VerifyStoreFile(const std::string& dir) {
  SR_ASSIGN_OR_RETURN(MdbEnvPtr env, CreateEnv());
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_set_maxdbs(env.get(), kTableCount), "mdb_env_set_maxdbs"));
  // MDB_NOLOCK: no lock file is created next to the copy being verified.
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_open(env.get(), dir.c_str(), MDB_RDONLY | MDB_NOLOCK, 0600),
                                "the backup is not an LMDB environment"));
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(env.get(), nullptr, MDB_RDONLY));
  MDB_dbi meta = 0;
  int rc = mdb_dbi_open(txn.get(), std::string(TableName(Table::kMeta)).c_str(), 0, &meta);
  if (rc == MDB_NOTFOUND) return Status::FailedPrecondition("the backup is not a strongroom store");
  SR_RETURN_IF_ERROR(LmdbStatus(rc, "the backup has no readable meta table"));
  StatusOr<std::uint32_t> version = CheckSchemaVersion(txn.get(), meta);
  if (!version.has_value()) {
    if (version.error().code() == StatusCode::kNotFound) {
      return Status::FailedPrecondition("the backup is not a strongroom store (no schema version)");
    }
    return version.error().WithContext("backup");
  }
  return Status::Ok();
}

}  // namespace strongroom::storage

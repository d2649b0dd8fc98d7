#include "storage/lmdb_env.h"

#include <string>

namespace strongroom::storage {

Status LmdbStatus(int rc, std::string_view context, std::size_t map_size_bytes) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string message(context);
  message += ": ";
  switch (rc) {
    case MDB_NOTFOUND:
      message += "not found";
      return Status::NotFound(std::move(message));
    case MDB_MAP_FULL:
      message += "the LMDB map is full";
      if (map_size_bytes != 0) {
        message += " (map size " + std::to_string(map_size_bytes) + " bytes)";
      }
      message +=
          "; nothing was written. Raise the store's map size (StoreOptions.map_size_bytes, "
          "the server's store map size setting) and restart, or delete records";
      return Status::ResourceExhausted(std::move(message));
    case MDB_READERS_FULL:
      message += "too many concurrent read transactions (LMDB max_readers reached)";
      return Status::ResourceExhausted(std::move(message));
    default:
      message += mdb_strerror(rc);
      return Status::Internal(std::move(message));
  }
}

StatusOr<MdbEnvPtr> CreateEnv() {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return std::unexpected(LmdbStatus(rc, "mdb_env_create"));
  return MdbEnvPtr(env);
}

StatusOr<LmdbTxn> LmdbTxn::Begin(MDB_env* env, MDB_txn* parent, unsigned flags,
                                 std::size_t map_size_bytes) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env, parent, flags, &txn);
  if (rc != MDB_SUCCESS) {
    return std::unexpected(LmdbStatus(rc, "cannot begin an LMDB transaction", map_size_bytes));
  }
  return LmdbTxn(txn);
}

LmdbTxn& LmdbTxn::operator=(LmdbTxn&& other) noexcept {
  if (this != &other) {
    Abort();
    txn_ = other.txn_;
    other.txn_ = nullptr;
  }
  return *this;
}

Status LmdbTxn::Commit(std::size_t map_size_bytes) {
  // mdb_txn_commit frees the handle whatever it returns: let go first so the
  // destructor never aborts a freed transaction.
  MDB_txn* txn = txn_;
  txn_ = nullptr;
  if (txn == nullptr) return Status::Internal("commit of an LMDB transaction that already ended");
  return LmdbStatus(mdb_txn_commit(txn), "LMDB commit failed", map_size_bytes);
}

void LmdbTxn::Abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
}

void LmdbTxn::Reset() { mdb_txn_reset(txn_); }

Status LmdbTxn::Renew() {
  const int rc = mdb_txn_renew(txn_);
  if (rc != MDB_SUCCESS) Abort();
  return LmdbStatus(rc, "cannot renew an LMDB read transaction");
}

StatusOr<LmdbCursor> LmdbCursor::Open(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &cursor);
  if (rc != MDB_SUCCESS) return std::unexpected(LmdbStatus(rc, "mdb_cursor_open"));
  return LmdbCursor(cursor);
}

}  // namespace strongroom::storage

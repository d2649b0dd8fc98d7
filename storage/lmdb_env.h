// storage/lmdb_env.h — private to storage/: one owner per LMDB handle, and
// the one function that turns LMDB return codes into a Status.
//
// Ownership rules (STYLE.md): an MDB_env is closed by its owner; a
// transaction aborts in its destructor unless it was committed (and, since
// mdb_txn_commit frees the handle even when it fails, the owner lets go of
// it before committing); a cursor is closed by its owner and must die before
// its transaction; a write transaction stays on the thread that began it.
// Thread-safety: the owners are plain move-only values.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace strongroom::storage {

// LmdbStatus maps an LMDB return code (or an errno it passes through) to a
// Status prefixed with `context`: MDB_SUCCESS -> OK, MDB_NOTFOUND ->
// kNotFound, MDB_MAP_FULL -> kResourceExhausted (the message names
// `map_size_bytes` when non-zero and says how to raise it),
// MDB_READERS_FULL -> kResourceExhausted, anything else -> kInternal with
// mdb_strerror's text.
Status LmdbStatus(int rc, std::string_view context, std::size_t map_size_bytes = 0);

struct LmdbEnvCloser {
  void operator()(MDB_env* env) const { mdb_env_close(env); }
};
// MdbEnvPtr owns an environment. REQUIRES: every transaction and cursor of
// the environment is gone before it is reset.
using MdbEnvPtr = std::unique_ptr<MDB_env, LmdbEnvCloser>;

// CreateEnv returns a new, not yet opened environment.
StatusOr<MdbEnvPtr> CreateEnv();

// LmdbTxn owns one transaction (read-only, write, or nested write).
class LmdbTxn {
 public:
  // Begin starts a transaction on `env`. `parent` non-null begins a nested
  // write transaction (REQUIRES: on the parent's thread, and it ends before
  // the parent does). `flags` as for mdb_txn_begin (MDB_RDONLY for reads).
  static StatusOr<LmdbTxn> Begin(MDB_env* env, MDB_txn* parent, unsigned flags,
                                 std::size_t map_size_bytes = 0);

  LmdbTxn() = default;
  LmdbTxn(LmdbTxn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  LmdbTxn& operator=(LmdbTxn&& other) noexcept;
  LmdbTxn(const LmdbTxn&) = delete;
  LmdbTxn& operator=(const LmdbTxn&) = delete;
  // ~LmdbTxn aborts the transaction unless it was committed.
  ~LmdbTxn() { Abort(); }

  // Commit commits and releases the handle whatever the outcome (on failure
  // LMDB has already aborted it). REQUIRES: the transaction is live.
  Status Commit(std::size_t map_size_bytes = 0);
  // Abort discards the transaction now (no-op when already ended).
  void Abort();
  // Reset ends a read-only transaction's snapshot but keeps its handle and
  // reader slot, for Renew (or Abort, which still frees it).
  // REQUIRES: read-only, live, no cursor open.
  void Reset();
  // Renew gives a Reset transaction a snapshot of the latest commit, as a
  // new one would have. On failure the handle is freed (live() is false).
  Status Renew();

  MDB_txn* get() const { return txn_; }
  bool live() const { return txn_ != nullptr; }

 private:
  explicit LmdbTxn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_ = nullptr;
};

// LmdbCursor owns one cursor. REQUIRES: it is destroyed before the
// transaction it was opened in ends.
class LmdbCursor {
 public:
  static StatusOr<LmdbCursor> Open(MDB_txn* txn, MDB_dbi dbi);

  LmdbCursor(LmdbCursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  LmdbCursor& operator=(LmdbCursor&&) = delete;
  LmdbCursor(const LmdbCursor&) = delete;
  LmdbCursor& operator=(const LmdbCursor&) = delete;
  ~LmdbCursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }

  MDB_cursor* get() const { return cursor_; }

 private:
  explicit LmdbCursor(MDB_cursor* cursor) : cursor_(cursor) {}
  MDB_cursor* cursor_ = nullptr;
};

// ToVal views `bytes` as an MDB_val (LMDB takes non-const pointers but does
// not write through them for keys and put data).
inline MDB_val ToVal(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}
inline std::string_view FromVal(const MDB_val& val) {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

}  // namespace strongroom::storage

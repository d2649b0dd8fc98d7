#include "storage/map_budget.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "storage/lmdb_env.h"

namespace strongroom::storage {

std::size_t ReserveBytes(std::size_t map_size_bytes) {
  std::size_t reserve =
      std::clamp<std::size_t>(map_size_bytes / 16, std::size_t{256} << 10, std::size_t{16} << 20);
  return std::min(reserve, map_size_bytes / 4);
}

StatusOr<std::size_t> FreeMapBytes(MDB_env* env, std::size_t enough) {
  MDB_envinfo info{};
  MDB_stat stat{};
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_info(env, &info), "mdb_env_info"));
  SR_RETURN_IF_ERROR(LmdbStatus(mdb_env_stat(env, &stat), "mdb_env_stat"));
  const std::size_t page = stat.ms_psize;
  const std::size_t map_pages = info.me_mapsize / page;
  const std::size_t used_pages = info.me_last_pgno + 1;
  std::size_t free_bytes = map_pages > used_pages ? (map_pages - used_pages) * page : 0;
  if (free_bytes >= enough) return free_bytes;

  // Add the pages on the freelist. Database 0 is LMDB's free-page database
  // (mdb_stat -f reads it the same way): the key is the id of the commit
  // that freed the pages, the value a page list whose first word is its
  // length. Pages the last commit freed are not reusable by the next one, so
  // they do not count.
  SR_ASSIGN_OR_RETURN(LmdbTxn txn, LmdbTxn::Begin(env, nullptr, MDB_RDONLY));
  SR_ASSIGN_OR_RETURN(LmdbCursor cursor, LmdbCursor::Open(txn.get(), 0));
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_FIRST);
  for (; rc == MDB_SUCCESS && free_bytes < enough;
       rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_NEXT)) {
    std::size_t freed_by = 0, pages = 0;
    if (key.mv_size != sizeof freed_by || value.mv_size < sizeof pages) continue;
    std::memcpy(&freed_by, key.mv_data, sizeof freed_by);
    if (freed_by >= info.me_last_txnid) continue;
    std::memcpy(&pages, value.mv_data, sizeof pages);
    free_bytes += pages * page;
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return std::unexpected(LmdbStatus(rc, "freelist"));
  return free_bytes;
}

Status LowSpaceStatus(std::size_t map_size_bytes, std::size_t free_bytes) {
  return Status::ResourceExhausted(
      "the store is nearly full (map size " + std::to_string(map_size_bytes) + " bytes, " +
      std::to_string(free_bytes) +
      " bytes free); only deletions are accepted until space is freed. Raise the store's map "
      "size (StoreOptions.map_size_bytes; for the server `map_size_mib` under [store] in its "
      "configuration) and restart");
}

}  // namespace strongroom::storage

// storage/map_budget.h — private to storage/: how much of the LMDB map is
// free, and the reserve kept for deletions.
//
// Why: LMDB is copy-on-write, so even a delete needs free pages, and pages a
// commit frees are reusable only two commits later. Without a reserve a
// filled map also refuses the deletes that would make room. So when free
// space (the never-used tail of the map plus the pages on LMDB's freelist)
// is below ReserveBytes at the start of a batch, that batch refuses Put and
// PutMeta with kResourceExhausted and accepts only deletions; if a batch
// still reaches the end of the map LMDB reports MDB_MAP_FULL, which is also
// kResourceExhausted and stores nothing. Thread-safety: plain functions.
#pragma once

#include <lmdb.h>

#include <cstddef>

#include "base/status.h"

namespace strongroom::storage {

// ReserveBytes returns the space kept for deletions in a map of
// `map_size_bytes`: 1/16 of it, between 256 KiB and 16 MiB, and never more
// than a quarter of the map. (A delete rewrites its leaf and branch pages and
// may merge neighbours; 16 MiB is 4096 pages.)
std::size_t ReserveBytes(std::size_t map_size_bytes);

// FreeMapBytes returns the free space of `env`'s last committed state, or
// stops counting once it reaches `enough` (the freelist is read only when
// the unused tail is smaller than that). Opens a short read transaction.
StatusOr<std::size_t> FreeMapBytes(MDB_env* env, std::size_t enough);

// LowSpaceStatus is the error a Put gets while the reserve is in use.
Status LowSpaceStatus(std::size_t map_size_bytes, std::size_t free_bytes);

}  // namespace strongroom::storage

// storage/schema_migration.h — private to storage/: the steps that carry a
// store from one schema version to the next (Store::MigrateSchema runs them).
// Thread-safety: constants and functions of the writer thread's WriteTxn.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

// MigrationStep carries a store from schema `from` to `from + 1` inside the
// one Write() of a migration. It reads and writes through `txn` only, so its
// changes are authenticated, digested and audited like any other write, and
// a failing step discards the whole migration (the store stays at its
// version). REQUIRES: idempotent is not needed (a migration either commits
// whole or not at all).
struct MigrationStep {
  std::uint32_t from = 0;
  const char* what = "";  // for error messages
  std::function<Status(WriteTxn& txn)> apply;
};

// MigrationSteps lists one step per schema version below kSchemaVersion, in
// order: step i carries version i + 1 to i + 2.
std::span<const MigrationStep> MigrationSteps();

}  // namespace strongroom::storage

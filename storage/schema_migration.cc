// Schema migrations (storage.h, "Schema versions") and Store::MigrateSchema.
#include "storage/schema_migration.h"

#include <array>
#include <string>

#include "storage/store_impl.h"
#include "storage/tables.h"

namespace strongroom::storage {
namespace {

// Schema 1 -> 2 changes no record: schema 2 is the version at which the
// store began to migrate forward on open with one audited record (and an
// older binary refuses it by name). It is the first step of the framework,
// kept so a store written before it takes the same path as every later
// migration will.
Status NoRecordChanges(WriteTxn&) { return Status::Ok(); }

const std::array<MigrationStep, kSchemaVersion - 1>& Steps() {
  static const std::array<MigrationStep, kSchemaVersion - 1> steps = {{
      {1, "schema 1 to 2: no record changes", NoRecordChanges},
  }};
  return steps;
}

}  // namespace

std::span<const MigrationStep> MigrationSteps() { return Steps(); }

std::uint32_t Store::schema_version() const {
  return impl_->schema_version.load(std::memory_order_acquire);
}

StatusOr<std::optional<SchemaMigration>> Store::MigrateSchema(std::string tag) {
  std::lock_guard lock(impl_->migration_mutex);
  std::uint32_t from = schema_version();
  if (from >= kSchemaVersion) return std::optional<SchemaMigration>();
  std::span<const MigrationStep> steps = MigrationSteps();
  // Another process (a CLI racing the server's start) may have migrated the
  // store since Open: the version is read again inside the write, and the
  // write gives up (recording nothing) when it is already current.
  bool already_current = false;
  StatusOr<WriteReceipt> written = Write(std::move(tag), [&](WriteTxn& txn) -> Status {
    already_current = false;  // a write function may run again (replicated re-staging)
    SR_ASSIGN_OR_RETURN(Bytes stored, GetMetaValue(txn.impl_->context, kSchemaVersionKey));
    ByteReader reader(stored);
    StatusOr<std::uint32_t> on_disk = reader.U32("schema version");
    if (!on_disk.has_value()) return on_disk.error();
    if (*on_disk >= kSchemaVersion) {
      already_current = true;
      return Status::AlreadyExists("the store was migrated by another process");
    }
    from = *on_disk;
    for (std::uint32_t version = from; version < kSchemaVersion; ++version) {
      const MigrationStep& step = steps[version - 1];
      if (step.from != version) {
        return Status::Internal("the migration steps are out of order at schema " +
                                std::to_string(version));
      }
      Status applied = step.apply(txn);
      if (!applied.ok()) return applied.WithContext(step.what);
    }
    ByteWriter out;
    out.U32(kSchemaVersion);
    // The schema version is a reserved key PutMeta refuses; only this
    // write, inside the same nested transaction as the steps, sets it.
    txn.impl_->meta_keys.emplace_back(kSchemaVersionKey);
    return txn.impl_->Remember(PutMetaValue(txn.impl_->context, kSchemaVersionKey, out.bytes()));
  });
  if (already_current) {
    impl_->schema_version.store(kSchemaVersion, std::memory_order_release);
    return std::optional<SchemaMigration>();
  }
  if (!written.has_value()) return std::unexpected(written.error());
  const WriteReceipt& receipt = *written;
  impl_->schema_version.store(kSchemaVersion, std::memory_order_release);
  return std::optional<SchemaMigration>(
      SchemaMigration{from, kSchemaVersion, receipt.resource_version});
}

}  // namespace strongroom::storage

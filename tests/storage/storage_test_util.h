// tests/storage/storage_test_util.h — helpers for the storage tests: an HMAC
// record authenticator with a fixed test key, store options in a temp dir,
// one-line writes, and raw LMDB access to the store file (for tampering).
#pragma once

#include <lmdb.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/openssl_ptr.h"
#include "storage/storage.h"
#include "tests/support/temp_dir.h"

namespace strongroom::storage::testing {

// HmacTestAuthenticator tags records with HMAC-SHA256 under a fixed test key
// over u8 table ‖ u32-length key ‖ u64 generation ‖ u32-length value.
class HmacTestAuthenticator final : public RecordAuthenticator {
 public:
  HmacTestAuthenticator();
  StatusOr<RecordTag> Tag(Table table, std::string_view key, std::uint64_t generation,
                          ByteSpan value) const override;
  // set_available(false) makes Tag fail as if the MAC key were unavailable.
  void set_available(bool available) { available_.store(available); }

 private:
  EvpMacPtr mac_;
  std::atomic<bool> available_{true};
};

// TestOptions returns options for a store in `dir` with a small map.
StoreOptions TestOptions(const testing_support::TempDir& dir);

// OpenTestStore opens a store and installs a fresh HmacTestAuthenticator;
// fails the test (and returns null) on error.
std::unique_ptr<Store> OpenTestStore(const StoreOptions& options);

// PutValue writes one record in its own Write() and returns the receipt.
StatusOr<WriteReceipt> PutValue(Store& store, Table table, std::string key, std::string value);

// ValueOf returns the record's value as a string.
std::string ValueOf(const Record& record);

// OtherProcess runs tests/storage/store_tool in a separate process (fork and
// exec through /bin/sh) against the store in `data_dir`, which a Store of
// this process may have open: writes through liblmdb from outside the Store,
// as an attacker who can write data.mdb makes them, or through a second
// Store with the same test authenticator, as the CLI makes them. Record
// bytes travel through files in `scratch_dir`, never through output. Each
// method returns false (and adds a test failure) when the tool fails.
class OtherProcess {
 public:
  OtherProcess(std::string data_dir, std::string scratch_dir)
      : data_dir_(std::move(data_dir)), scratch_dir_(std::move(scratch_dir)) {}
  // SaveRaw copies the stored bytes (value and MAC) of (table, key) into
  // the scratch file `name`.
  bool SaveRaw(Table table, std::string_view key, std::string_view name);
  // RestoreRaw writes the scratch file `name` back as the stored bytes.
  bool RestoreRaw(Table table, std::string_view key, std::string_view name);
  // DeleteRaw removes (table, key) with mdb_del.
  bool DeleteRaw(Table table, std::string_view key);
  // PutThroughStore writes `value` with Store::Write in the other process and
  // returns the resourceVersion it committed as (0 on failure).
  std::uint64_t PutThroughStore(Table table, std::string_view key, std::string_view value);

 private:
  bool Run(const std::string& arguments, std::string* out = nullptr);
  std::string data_dir_;
  std::string scratch_dir_;
};

// RawStoreFile opens `<data_dir>/<subdir>` with the LMDB C API, bypassing
// the Store. REQUIRES: no Store is open on that directory in this process.
class RawStoreFile {
 public:
  explicit RawStoreFile(const std::string& data_dir, const std::string& subdir = "store");
  ~RawStoreFile();
  RawStoreFile(const RawStoreFile&) = delete;
  RawStoreFile& operator=(const RawStoreFile&) = delete;

  bool ok() const { return env_ != nullptr; }
  // Get returns the stored bytes, or nullopt when absent.
  std::optional<std::string> Get(std::string_view db, std::string_view key);
  // Put replaces the stored bytes; returns false on an LMDB error.
  bool Put(std::string_view db, std::string_view key, std::string_view value);
  // Delete removes the key; returns false on an LMDB error or when absent.
  bool Delete(std::string_view db, std::string_view key);

 private:
  MDB_env* env_ = nullptr;
};

}  // namespace strongroom::storage::testing

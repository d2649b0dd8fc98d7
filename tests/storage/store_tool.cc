// store_tool — a separate process that writes a store's LMDB file while a
// test's Store has it open, as an attacker (raw liblmdb) or an honest CLI (a
// second Store with the same test authenticator) would. Values travel
// through files, so no record bytes appear on a command line or in output.
//
//   store_tool save    <data_dir> <db> <key> <file>   raw stored bytes -> file
//   store_tool restore <data_dir> <db> <key> <file>   file -> raw stored bytes
//   store_tool delete  <data_dir> <db> <key>          raw delete
//   store_tool put     <data_dir> <table> <key> <value-file>
//                                                     Store::Write, like the CLI
// Exit status 0 on success, 1 on failure (the reason on stderr).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "storage/storage.h"
#include "tests/storage/storage_test_util.h"

namespace {

using strongroom::storage::Store;
using strongroom::storage::StoreOptions;
using strongroom::storage::Table;
using strongroom::storage::WriteTxn;
using strongroom::storage::testing::HmacTestAuthenticator;
using strongroom::storage::testing::RawStoreFile;

int Fail(const std::string& why) {
  std::fprintf(stderr, "store_tool: %s\n", why.c_str());
  return 1;
}

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

int Put(const std::string& data_dir, int table, const std::string& key,
        const std::string& value_file) {
  std::string value;
  if (!ReadFile(value_file, value)) return Fail("cannot read " + value_file);
  StoreOptions options;
  options.data_dir = data_dir;
  options.map_size_bytes = std::size_t{64} << 20;
  options.create_if_missing = false;
  auto store = Store::Open(options);
  if (!store.has_value()) return Fail("Store::Open: " + store.error().ToString());
  (*store)->SetAuthenticator(std::make_shared<HmacTestAuthenticator>());
  auto written = (*store)->Write("store_tool put", [&](WriteTxn& txn) -> strongroom::Status {
    auto put = txn.Put(static_cast<Table>(table), key, strongroom::AsBytes(value));
    if (!put.has_value()) return put.error();
    return strongroom::Status::Ok();
  });
  if (!written.has_value()) return Fail("Write: " + written.error().ToString());
  std::printf("%llu\n", static_cast<unsigned long long>(written->resource_version));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return Fail("usage: store_tool save|restore|delete|put <data_dir> ...");
  const std::string command = argv[1], data_dir = argv[2], db = argv[3], key = argv[4];
  if (command == "put" && argc == 6) return Put(data_dir, std::atoi(db.c_str()), key, argv[5]);
  RawStoreFile raw(data_dir);
  if (!raw.ok()) return Fail("cannot open the store in " + data_dir);
  if (command == "save" && argc == 6) {
    auto stored = raw.Get(db, key);
    if (!stored) return Fail("no such record");
    std::ofstream out(argv[5], std::ios::binary | std::ios::trunc);
    out << *stored;
    return out ? 0 : Fail("cannot write the file");
  }
  if (command == "restore" && argc == 6) {
    std::string stored;
    if (!ReadFile(argv[5], stored)) return Fail("cannot read the file");
    return raw.Put(db, key, stored) ? 0 : Fail("mdb_put failed");
  }
  if (command == "delete" && argc == 5) return raw.Delete(db, key) ? 0 : Fail("mdb_del failed");
  return Fail("unknown command " + command);
}

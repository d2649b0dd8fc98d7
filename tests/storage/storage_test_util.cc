#include "tests/storage/storage_test_util.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstdlib>

#include "base/bytes.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

#ifndef SR_STORE_TOOL
#error "SR_STORE_TOOL must name the store_tool binary"
#endif

namespace strongroom::storage::testing {

namespace {
constexpr std::string_view kTestMacKey = "strongroom storage test record-MAC key, 32+ bytes";
}  // namespace

HmacTestAuthenticator::HmacTestAuthenticator() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {}

StatusOr<RecordTag> HmacTestAuthenticator::Tag(Table table, std::string_view key,
                                               std::uint64_t generation, ByteSpan value) const {
  if (!available_.load()) {
    return std::unexpected(Status::FailedPrecondition("test MAC key unavailable"));
  }
  if (mac_ == nullptr) return std::unexpected(OpenSslError("EVP_MAC_fetch"));
  ByteWriter message;
  message.U8(static_cast<std::uint8_t>(table));
  message.Str32(AsBytes(key));
  message.U64(generation);
  message.Str32(value);
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac_.get()));
  if (ctx == nullptr) return std::unexpected(OpenSslError("EVP_MAC_CTX_new"));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  RecordTag tag{};
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(kTestMacKey.data()),
                   kTestMacKey.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.bytes().data(), message.bytes().size()) != 1 ||
      EVP_MAC_final(ctx.get(), tag.data(), &out_len, tag.size()) != 1 || out_len != tag.size()) {
    return std::unexpected(OpenSslError("HMAC"));
  }
  return tag;
}

StoreOptions TestOptions(const testing_support::TempDir& dir) {
  StoreOptions options;
  options.data_dir = dir.Join("data");
  options.map_size_bytes = std::size_t{64} << 20;
  return options;
}

std::unique_ptr<Store> OpenTestStore(const StoreOptions& options) {
  StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.has_value()) {
    ADD_FAILURE() << "Store::Open: " << store.error();
    return nullptr;
  }
  (*store)->SetAuthenticator(std::make_shared<HmacTestAuthenticator>());
  return std::move(*store);
}

StatusOr<WriteReceipt> PutValue(Store& store, Table table, std::string key, std::string value) {
  return store.Write("put " + key, [&](WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(table, key, AsBytes(value)));
    return Status::Ok();
  });
}

std::string ValueOf(const Record& record) { return std::string(AsChars(record.value)); }

namespace {
// Quote makes `s` one shell word. The tests' names and paths hold no quote.
std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }
}  // namespace

bool OtherProcess::Run(const std::string& arguments, std::string* out) {
  testing_support::ShellResult result =
      testing_support::RunShell(Quote(SR_STORE_TOOL) + " " + arguments + " 2>&1");
  if (result.exit_code != 0) {
    ADD_FAILURE() << "store_tool " << arguments << " exited " << result.exit_code << ": "
                  << result.out;
    return false;
  }
  if (out != nullptr) *out = result.out;
  return true;
}

bool OtherProcess::SaveRaw(Table table, std::string_view key, std::string_view name) {
  return Run("save " + Quote(data_dir_) + " " + Quote(TableName(table)) + " " + Quote(key) + " " +
             Quote(scratch_dir_ + "/" + std::string(name)));
}

bool OtherProcess::RestoreRaw(Table table, std::string_view key, std::string_view name) {
  return Run("restore " + Quote(data_dir_) + " " + Quote(TableName(table)) + " " + Quote(key) +
             " " + Quote(scratch_dir_ + "/" + std::string(name)));
}

bool OtherProcess::DeleteRaw(Table table, std::string_view key) {
  return Run("delete " + Quote(data_dir_) + " " + Quote(TableName(table)) + " " + Quote(key));
}

std::uint64_t OtherProcess::PutThroughStore(Table table, std::string_view key,
                                            std::string_view value) {
  const std::string value_file = scratch_dir_ + "/value-for-other-process";
  if (!testing_support::WriteFileBytes(value_file, std::string(value))) {
    ADD_FAILURE() << "cannot write " << value_file;
    return 0;
  }
  std::string out;
  if (!Run("put " + Quote(data_dir_) + " " + std::to_string(static_cast<int>(table)) + " " +
               Quote(key) + " " + Quote(value_file),
           &out)) {
    return 0;
  }
  return std::strtoull(out.c_str(), nullptr, 10);
}

RawStoreFile::RawStoreFile(const std::string& data_dir, const std::string& subdir) {
  if (mdb_env_create(&env_) != MDB_SUCCESS) {
    env_ = nullptr;
    return;
  }
  mdb_env_set_maxdbs(env_, 32);
  int rc = mdb_env_open(env_, (data_dir + "/" + subdir).c_str(), 0, 0600);
  if (rc != MDB_SUCCESS) {
    ADD_FAILURE() << "mdb_env_open: " << mdb_strerror(rc);
    mdb_env_close(env_);
    env_ = nullptr;
  }
}

RawStoreFile::~RawStoreFile() {
  if (env_ != nullptr) mdb_env_close(env_);
}

std::optional<std::string> RawStoreFile::Get(std::string_view db, std::string_view key) {
  MDB_txn* txn = nullptr;
  if (env_ == nullptr || mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != MDB_SUCCESS) return {};
  MDB_dbi dbi = 0;
  std::optional<std::string> out;
  if (mdb_dbi_open(txn, std::string(db).c_str(), 0, &dbi) == MDB_SUCCESS) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{};
    if (mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS) {
      out.emplace(static_cast<const char*>(v.mv_data), v.mv_size);
    }
  }
  mdb_txn_abort(txn);
  return out;
}

bool RawStoreFile::Put(std::string_view db, std::string_view key, std::string_view value) {
  MDB_txn* txn = nullptr;
  if (env_ == nullptr || mdb_txn_begin(env_, nullptr, 0, &txn) != MDB_SUCCESS) return false;
  MDB_dbi dbi = 0;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  if (mdb_dbi_open(txn, std::string(db).c_str(), MDB_CREATE, &dbi) != MDB_SUCCESS ||
      mdb_put(txn, dbi, &k, &v, 0) != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    return false;
  }
  return mdb_txn_commit(txn) == MDB_SUCCESS;
}

bool RawStoreFile::Delete(std::string_view db, std::string_view key) {
  MDB_txn* txn = nullptr;
  if (env_ == nullptr || mdb_txn_begin(env_, nullptr, 0, &txn) != MDB_SUCCESS) return false;
  MDB_dbi dbi = 0;
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  if (mdb_dbi_open(txn, std::string(db).c_str(), 0, &dbi) != MDB_SUCCESS ||
      mdb_del(txn, dbi, &k, nullptr) != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    return false;
  }
  return mdb_txn_commit(txn) == MDB_SUCCESS;
}

}  // namespace strongroom::storage::testing

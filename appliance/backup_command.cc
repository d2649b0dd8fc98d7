// `strongroom backup` and `strongroom restore` (SPEC section 5).
//
// A backup is a directory: data.mdb (LMDB's compacting copy, consistent,
// taken online), audit/ (the audit files, when present) and manifest.json
// naming the KEKs the copy needs. Restore requires the server stopped,
// checks every needed KEK is in the token, installs the copy, and marks
// every API token issued before the restore as revoked.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "appliance/commands.h"
#include "crypto/crypto.h"

namespace strongroom::appliance {
namespace {

namespace fs = std::filesystem;
constexpr int kManifestFormat = 1;
// kSystem key holding the time before which every API token is refused.
constexpr std::string_view kTokensValidAfterKey = "api-tokens-valid-after";

StatusOr<std::set<std::string>> NeededKeks(crypto::Keyring& keyring) {
  std::set<std::string> needed = {keyring.current_kek_id()};
  SR_ASSIGN_OR_RETURN(std::vector<crypto::DataKeyInfo> keys, keyring.ListDataKeys());
  for (const auto& k : keys) needed.insert(k.kek_id);
  return needed;
}

Status CopyAuditFiles(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (!fs::exists(from, ec)) return Status::Ok();
  fs::create_directories(to, ec);
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) return Status::Internal("cannot copy audit files: " + ec.message());
  return Status::Ok();
}

}  // namespace

Status RunBackup(const CommonFlags& flags, const std::string& to_dir) {
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(flags, /*create_if_missing=*/false,
                                                       /*with_keyring=*/true));
  std::error_code ec;
  if (fs::exists(to_dir + "/manifest.json", ec) || fs::exists(to_dir + "/data.mdb", ec)) {
    return Status::AlreadyExists("the backup directory " + to_dir + " already holds a backup");
  }
  if (!fs::exists(to_dir, ec) && ::mkdir(to_dir.c_str(), 0700) != 0) {
    return Status::InvalidArgument("cannot create the backup directory " + to_dir);
  }
  SR_ASSIGN_OR_RETURN(std::set<std::string> needed, NeededKeks(*env.keyring));
  std::uint64_t resource_version = 0;
  {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, env.store->BeginRead());
    resource_version = txn.resource_version();
  }
  TimePoint now = Clock::Real()->Now();
  SR_RETURN_IF_ERROR(AuditCliEvent(env, "store.backup", {"", "store", ""},
                                   {{"to", to_dir},
                                    {"resource_version_at_least", std::to_string(resource_version)}}));
  SR_RETURN_IF_ERROR(env.store->Backup(to_dir));
  SR_RETURN_IF_ERROR(CopyAuditFiles(flags.data_dir + "/audit", to_dir + "/audit"));
  nlohmann::json manifest = {
      {"format", kManifestFormat},
      {"created", Rfc3339Micros(now)},
      {"created_micros", UnixMicros(now)},
      {"schema_version", storage::kSchemaVersion},
      {"resource_version_at_least", resource_version},
      {"token_label", env.token->token_label()},
      {"keks_needed", std::vector<std::string>(needed.begin(), needed.end())},
  };
  std::ofstream out(to_dir + "/manifest.json");
  out << manifest.dump(2) << "\n";
  out.close();
  if (!out) return Status::Internal("cannot write the backup manifest");
  ::chmod((to_dir + "/manifest.json").c_str(), 0600);
  std::cout << "backup written to " << to_dir << " (resourceVersion >= " << resource_version
            << ", needs KEKs:";
  for (const auto& k : needed) std::cout << " " << k;
  std::cout << ")\n";
  return Status::Ok();
}

Status RunRestore(const CommonFlags& flags, const std::string& from_dir) {
  SR_RETURN_IF_ERROR(CheckDataDirOwner(flags.data_dir));
  SR_ASSIGN_OR_RETURN(bool running, storage::Store::ServerRunning(flags.data_dir));
  if (running) {
    return Status::FailedPrecondition("the server is running on " + flags.data_dir +
                                      "; stop it before restoring");
  }
  nlohmann::json manifest;
  try {
    std::ifstream in(from_dir + "/manifest.json");
    if (!in) return Status::NotFound("no manifest.json in " + from_dir);
    manifest = nlohmann::json::parse(in);
    if (manifest.at("format").get<int>() != kManifestFormat) {
      return Status::InvalidArgument("unknown backup manifest format");
    }
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("the backup manifest in " + from_dir + " is malformed");
  }
  SR_ASSIGN_OR_RETURN(std::unique_ptr<crypto::TokenService> token, OpenToken(flags));
  for (const auto& kek : manifest.at("keks_needed")) {
    std::string id = kek.get<std::string>();
    SR_ASSIGN_OR_RETURN(bool present, token->KekExists(id));
    if (!present) {
      return Status::FailedPrecondition("the backup needs KEK " + id +
                                        ", which is not in the token; restore refused (copy the "
                                        "token's keys first, see docs/disaster-recovery.md)");
    }
  }
  SR_RETURN_IF_ERROR(storage::Store::InstallBackup(from_dir, flags.data_dir));
  // The live audit log is kept (it is append-only); the backup's copy of
  // it stays in the backup as an archive.
  Environment env;
  env.token = std::move(token);
  storage::StoreOptions store_options;
  store_options.data_dir = flags.data_dir;
  store_options.create_if_missing = false;
  SR_ASSIGN_OR_RETURN(env.store, storage::Store::Open(store_options));
  SR_ASSIGN_OR_RETURN(env.keyring, crypto::Keyring::Open(*env.token, *env.store));
  // SECURITY: a restore is the one deliberate rollback. The log must still
  // reach the token's anchor (it is kept, append-only); the restore is
  // recorded, and the checkpoint written when the log closes seals the
  // restored store's resourceVersion and is anchored in the token, so the
  // next start accepts it; any other rollback is refused there.
  SR_RETURN_IF_ERROR(OpenAuditLog(flags, env, "cli", audit::AnchorMode::kRestore));
  SR_RETURN_IF_ERROR(AuditCliEvent(
      env, "store.restore", {"", "store", ""},
      {{"from", from_dir},
       {"resource_version",
        std::to_string(manifest.value("resource_version_at_least", std::uint64_t{0}))}}));
  // SECURITY: every API token that existed when the backup was taken may
  // have been revoked since; refuse them all.
  std::int64_t now = UnixMicros(Clock::Real()->Now());
  ByteWriter w;
  w.U64(static_cast<std::uint64_t>(now));
  SR_RETURN_IF_ERROR(env.store->Write("store.restore:revoke-api-tokens", [&](storage::WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(storage::Table::kSystem, kTokensValidAfterKey, w.bytes()));
    txn.BumpGeneration(storage::CacheKind::kTokens);
    return Status::Ok();
  }));
  SR_RETURN_IF_ERROR(env.audit->Close());
  std::cout << "restored " << from_dir << " into " << flags.data_dir
            << "; API tokens issued before now are revoked\n";
  return Status::Ok();
}

}  // namespace strongroom::appliance

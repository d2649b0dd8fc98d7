// The data-key half of Keyring: which key is active per namespace and day,
// its encryption counter, and rotation / re-wrapping.
#include <algorithm>
#include <set>

#include "crypto/escrow.h"
#include "crypto/kek.h"
#include "crypto/keyring.h"
#include "crypto/keyring_store.h"

namespace strongroom::crypto {
namespace {

using storage::Table;

StatusOr<std::uint64_t> DataKeysGeneration(storage::Store& store) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  return txn.generation(storage::CacheKind::kDataKeys);
}

// ActiveIndex returns the active data key id of a namespace ("" if none).
StatusOr<std::string> ActiveIndex(const auto& txn, std::string_view namespace_name) {
  StatusOr<storage::Record> index = txn.Get(Table::kSystem, ActiveDataKeyIndexKey(namespace_name));
  if (!index.has_value()) {
    if (index.error().code() == StatusCode::kNotFound) return std::string();
    return std::unexpected(index.error());
  }
  return std::string(AsChars(index->value));
}

StatusOr<DataKeyRecord> GetRow(const auto& txn, const std::string& id) {
  SR_ASSIGN_OR_RETURN(storage::Record record, txn.Get(Table::kDataKeys, id));
  return DecodeDataKeyRecord(record.value);
}

// Deactivate marks a namespace's active key inactive and drops the index.
Status Deactivate(storage::WriteTxn& txn, std::string_view namespace_name, const std::string& id) {
  SR_ASSIGN_OR_RETURN(DataKeyRecord row, GetRow(txn, id));
  row.active = false;
  SR_RETURN_IF_ERROR(txn.Put(Table::kDataKeys, id, EncodeDataKeyRecord(row)));
  SR_RETURN_IF_ERROR(txn.Delete(Table::kSystem, ActiveDataKeyIndexKey(namespace_name)));
  txn.BumpGeneration(storage::CacheKind::kDataKeys);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> Keyring::CreateOrAdoptActiveKey(std::string_view namespace_name,
                                                      const std::string& day) {
  {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store_.BeginRead());
    SR_ASSIGN_OR_RETURN(std::string id, ActiveIndex(txn, namespace_name));
    if (!id.empty()) {
      SR_ASSIGN_OR_RETURN(DataKeyRecord row, GetRow(txn, id));
      if (row.active && row.day == day) return id;
    }
  }
  // A new key: generated and wrapped in the token before the write, so the
  // writer thread never waits for the token.
  std::string kek_id = current_kek_id();
  SR_ASSIGN_OR_RETURN(GeneratedKey generated,
                      token_.GenerateWrappedKey(kek_id, WrappedKeyType::kAes256));
  DataKeyRecord row;
  row.id = NewKeyId("dek-");
  row.namespace_name = std::string(namespace_name);
  row.day = day;
  row.kek_id = kek_id;
  row.wrapped = std::move(generated.wrapped);
  row.created_micros = UnixMicros(options_.clock->Now());
  row.active = true;
  std::string chosen;
  SR_RETURN_IF_ERROR(store_.Write("keyring:create-data-key", [&](storage::WriteTxn& txn) -> Status {
    SR_ASSIGN_OR_RETURN(std::string current, ActiveIndex(txn, namespace_name));
    if (!current.empty()) {
      SR_ASSIGN_OR_RETURN(DataKeyRecord existing, GetRow(txn, current));
      if (existing.active && existing.day == day) {  // another caller won the race
        chosen = current;
        return Status::Ok();
      }
      SR_RETURN_IF_ERROR(Deactivate(txn, namespace_name, current));
    }
    SR_RETURN_IF_ERROR(txn.Put(Table::kDataKeys, row.id, EncodeDataKeyRecord(row)));
    SR_RETURN_IF_ERROR(txn.Put(Table::kSystem, ActiveDataKeyIndexKey(namespace_name), AsBytes(row.id)));
    txn.BumpGeneration(storage::CacheKind::kDataKeys);
    chosen = row.id;
    return Status::Ok();
  }));
  if (chosen == row.id) {
    created_.fetch_add(1, std::memory_order_relaxed);
    CacheInsert(row.id, std::make_shared<const SecretBytes>(std::move(generated.plaintext)));
  }
  return chosen;
}

// ReserveBlock reserves the next block of encryptions of `active` in the
// store. kFailedPrecondition when the key was deactivated meanwhile, or has
// reached its limit (it is then retired).
Status Keyring::ReserveBlock(ActiveKey& active, std::string_view namespace_name) {
  std::uint64_t first = 0, limit = 0;
  bool retired = false;
  SR_RETURN_IF_ERROR(store_.Write("keyring:reserve", [&](storage::WriteTxn& txn) -> Status {
    // A write function may run more than once (a replicated store re-stages
    // a batch another node's write overtook): every output starts afresh.
    first = 0;
    limit = 0;
    retired = false;
    SR_ASSIGN_OR_RETURN(DataKeyRecord row, GetRow(txn, active.data_key_id));
    if (!row.active) return Status::Ok();  // rotated away; caller reloads
    if (row.reserved_encryptions >= options_.max_encryptions_per_data_key) {
      // SECURITY: retire before 2^31 encryptions under one key (random
      // 96-bit nonces, NIST SP 800-38D).
      retired = true;
      return Deactivate(txn, namespace_name, row.id);
    }
    first = row.reserved_encryptions;
    row.reserved_encryptions =
        std::min(first + options_.counter_block, options_.max_encryptions_per_data_key);
    limit = row.reserved_encryptions;
    return ToStatus(txn.Put(Table::kDataKeys, row.id, EncodeDataKeyRecord(row)));
  }));
  if (retired || limit == 0) {
    return Status::FailedPrecondition("data key retired or rotated");
  }
  active.next_counter = first;
  active.reserved = limit;
  return Status::Ok();
}

StatusOr<std::string> Keyring::ReserveActiveKey(std::string_view namespace_name) {
  std::string day = UtcDay(options_.clock->Now());
  // Two rounds at most: a key retired or rotated under us is replaced once.
  for (int round = 0; round < 3; ++round) {
    SR_ASSIGN_OR_RETURN(std::uint64_t generation, DataKeysGeneration(store_));
    std::lock_guard<std::mutex> lock(active_mu_);
    auto it = active_.find(std::string(namespace_name));
    bool usable = it != active_.end() && it->second.day == day &&
                  it->second.generation == generation;
    if (usable && it->second.next_counter < it->second.reserved) {
      ++it->second.next_counter;
      return it->second.data_key_id;
    }
    ActiveKey fresh;
    if (usable) {
      fresh = it->second;
    } else {
      SR_ASSIGN_OR_RETURN(fresh.data_key_id, CreateOrAdoptActiveKey(namespace_name, day));
      fresh.day = day;
      SR_ASSIGN_OR_RETURN(fresh.generation, DataKeysGeneration(store_));
      if (it != active_.end() && it->second.data_key_id == fresh.data_key_id &&
          it->second.next_counter < it->second.reserved) {
        // Same key still active (another namespace changed the generation):
        // the block this process reserved is still its own.
        fresh.next_counter = it->second.next_counter + 1;
        fresh.reserved = it->second.reserved;
        std::string id = fresh.data_key_id;
        it->second = std::move(fresh);
        return id;
      }
    }
    Status reserved = ReserveBlock(fresh, namespace_name);
    if (!reserved.ok()) {
      if (reserved.code() != StatusCode::kFailedPrecondition) return std::unexpected(reserved);
      active_.erase(std::string(namespace_name));
      continue;
    }
    ++fresh.next_counter;
    std::string id = fresh.data_key_id;
    active_.insert_or_assign(std::string(namespace_name), std::move(fresh));
    return id;
  }
  return std::unexpected(Status::Unavailable("could not settle on an active data key; retry"));
}

StatusOr<std::size_t> Keyring::RotateDataKeys() {
  std::size_t deactivated = 0;
  SR_RETURN_IF_ERROR(store_.Write("keyring:rotate-data-keys", [&](storage::WriteTxn& txn) -> Status {
    deactivated = 0;
    std::vector<std::pair<std::string, std::string>> actives;  // namespace, id
    SR_RETURN_IF_ERROR(txn.Scan(Table::kSystem, kActiveDataKeyPrefix, "",
                                [&](std::string_view key, const storage::Record& record) {
                                  actives.emplace_back(key.substr(kActiveDataKeyPrefix.size()),
                                                       AsChars(record.value));
                                  return true;
                                }));
    for (const auto& [ns, id] : actives) {
      SR_RETURN_IF_ERROR(Deactivate(txn, ns, id));
      ++deactivated;
    }
    txn.BumpGeneration(storage::CacheKind::kDataKeys);
    return Status::Ok();
  }));
  std::lock_guard<std::mutex> lock(active_mu_);
  active_.clear();
  return deactivated;
}

Status Keyring::SetCurrentKek(const std::string& kek_id) {
  SR_RETURN_IF_ERROR(RecordKekIfMissing(store_, kek_id, UnixMicros(options_.clock->Now()), false));
  SR_RETURN_IF_ERROR(store_.Write("keyring:current-kek", [&](storage::WriteTxn& txn) {
    return ToStatus(txn.Put(Table::kSystem, kCurrentKekKey, AsBytes(kek_id)));
  }));
  std::lock_guard<std::mutex> lock(kek_mu_);
  current_kek_id_ = kek_id;
  return Status::Ok();
}

StatusOr<RewrapReport> Keyring::RewrapDataKeys() {
  RewrapReport report;
  std::string target = current_kek_id();
  SR_ASSIGN_OR_RETURN(std::vector<DataKeyInfo> keys, ListDataKeys());
  for (const DataKeyInfo& info : keys) {
    if (info.kek_id == target) {
      ++report.already_current;
      continue;
    }
    SR_ASSIGN_OR_RETURN(DataKeyRecord row, ReadDataKeyRecord(store_, info.id));
    SR_ASSIGN_OR_RETURN(Bytes rewrapped, token_.RewrapKey(row.kek_id, target, row.wrapped,
                                                   WrappedKeyType::kAes256));
    SR_RETURN_IF_ERROR(store_.Write("keyring:rewrap", [&](storage::WriteTxn& txn) -> Status {
      SR_ASSIGN_OR_RETURN(DataKeyRecord latest, GetRow(txn, info.id));
      latest.kek_id = target;  // the wrapped value never changes otherwise
      latest.wrapped = rewrapped;
      return ToStatus(txn.Put(Table::kDataKeys, info.id, EncodeDataKeyRecord(latest)));
    }));
    ++report.rewrapped;
  }
  SR_ASSIGN_OR_RETURN(std::optional<WrappedMacKey> mac, ReadWrappedMacKey(store_));
  if (mac.has_value() && mac->kek_id != target) {
    SR_ASSIGN_OR_RETURN(Bytes rewrapped, token_.RewrapKey(mac->kek_id, target, mac->wrapped,
                                                   WrappedKeyType::kHmacSha256));
    SR_RETURN_IF_ERROR(WriteWrappedMacKey(store_, WrappedMacKey{target, std::move(rewrapped)}));
  }
  return report;
}

StatusOr<KekRotationReport> Keyring::RotateKek() {
  KekRotationReport report;
  report.old_kek_id = current_kek_id();
  report.new_kek_id = NewKeyId("kek-");
  // With escrow (crypto/escrow.h) the new KEK is escrowable and its wrapped
  // copy is stored before it becomes current; without, as GenerateKek.
  SR_RETURN_IF_ERROR(GenerateKekForStore(token_, store_, report.new_kek_id));
  SR_RETURN_IF_ERROR(SetCurrentKek(report.new_kek_id));
  SR_ASSIGN_OR_RETURN(report.rewrap, RewrapDataKeys());
  std::set<std::string> referenced = {report.new_kek_id};
  SR_ASSIGN_OR_RETURN(std::vector<DataKeyInfo> keys, ListDataKeys());
  for (const DataKeyInfo& k : keys) referenced.insert(k.kek_id);
  SR_ASSIGN_OR_RETURN(std::vector<KekInfo> keks, ListKeks());
  for (const KekInfo& k : keks) {
    if (!referenced.contains(k.id)) report.unreferenced_kek_ids.push_back(k.id);
  }
  return report;
}

StatusOr<std::vector<DataKeyInfo>> Keyring::ListDataKeys() const {
  std::vector<DataKeyInfo> out;
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store_.BeginRead());
  Status decode_error;
  SR_RETURN_IF_ERROR(txn.Scan(Table::kDataKeys, "", "", [&](std::string_view, const storage::Record& r) {
    StatusOr<DataKeyRecord> row = DecodeDataKeyRecord(r.value);
    if (!row.has_value()) {
      decode_error = row.error();
      return false;
    }
    out.push_back(DataKeyInfo{row->id, row->namespace_name, row->day, row->kek_id,
                              row->created_micros, row->active, row->reserved_encryptions});
    return true;
  }));
  SR_RETURN_IF_ERROR(decode_error);
  return out;
}

StatusOr<std::vector<KekInfo>> Keyring::ListKeks() const {
  std::vector<KekInfo> out;
  std::string current = current_kek_id();
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store_.BeginRead());
  SR_RETURN_IF_ERROR(txn.Scan(Table::kKeks, "", "", [&](std::string_view key, const storage::Record& r) {
    StatusOr<std::int64_t> created = DecodeKekCreated(r.value);
    out.push_back(KekInfo{std::string(key), created.value_or(0), key == current});
    return true;
  }));
  return out;
}

}  // namespace strongroom::crypto

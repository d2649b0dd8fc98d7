// Keyring::ReencryptSecrets: moving stored secure values to current data
// keys, in bounded batches, while the store stays online.
#include <optional>

#include "crypto/keyring.h"
#include "crypto/keyring_store.h"
#include "storage/secure_value_record.h"

namespace strongroom::crypto {
namespace {

using storage::Table;

struct Candidate {
  std::string key;
  std::uint64_t generation;
  storage::SecureValueRecord record;
};

struct Prepared {
  storage::SecureValueVersion read;   // the envelope is bound to read.generation + 1
  storage::SecureValueRecord record;  // with the new envelope
};

// ReadBatch loads up to `limit` records after `after` and says, for each,
// whether it is already under its namespace's active data key.
Status ReadBatch(storage::Store& store, const std::string& after, std::size_t limit,
                 std::vector<Candidate>* out, std::vector<bool>* current) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  Status decode_error;
  SR_RETURN_IF_ERROR(txn.Scan(Table::kSecureValues, "", after,
                              [&](std::string_view key, const storage::Record& r) {
                                StatusOr<storage::SecureValueRecord> rec =
                                    storage::DecodeSecureValueRecord(r.value);
                                if (!rec.has_value()) {
                                  decode_error = rec.error();
                                  return false;
                                }
                                out->push_back(Candidate{std::string(key), r.generation, std::move(*rec)});
                                return out->size() < limit;
                              }));
  SR_RETURN_IF_ERROR(decode_error);
  for (const Candidate& c : *out) {
    StatusOr<EnvelopeHeader> header = ParseEnvelope(c.record.envelope);
    if (!header.has_value()) return header.error().WithContext(c.key);
    StatusOr<storage::Record> active =
        txn.Get(Table::kSystem, ActiveDataKeyIndexKey(c.record.namespace_name));
    current->push_back(active.has_value() && AsChars(active->value) == header->data_key_id);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ReencryptReport> Keyring::ReencryptSecrets(std::size_t batch_size) {
  if (batch_size == 0) batch_size = 1;
  ReencryptReport report;
  std::string after;
  for (;;) {
    std::vector<Candidate> batch;
    std::vector<bool> current;
    SR_RETURN_IF_ERROR(ReadBatch(store_, after, batch_size, &batch, &current));
    if (batch.empty()) break;
    after = batch.back().key;
    ++report.batches;
    report.scanned += batch.size();
    std::vector<Prepared> prepared;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Candidate& c = batch[i];
      if (current[i]) {
        ++report.already_current;
        continue;
      }
      ValueBinding old_binding{c.record.namespace_name, c.record.name, c.record.uid, c.generation};
      SR_ASSIGN_OR_RETURN(SecretBytes plaintext, Unseal(old_binding, c.record.envelope));
      ValueBinding new_binding = old_binding;
      new_binding.generation = c.generation + 1;
      SR_ASSIGN_OR_RETURN(SealedValue sealed, Seal(new_binding, plaintext.RevealSecret()));
      storage::SecureValueVersion read{c.record.uid, c.generation, c.record.resource_version};
      c.record.envelope = std::move(sealed.envelope);
      prepared.push_back(Prepared{std::move(read), std::move(c.record)});
    }
    if (prepared.empty()) continue;
    if (options_.before_reencrypt_write) options_.before_reencrypt_write();
    std::size_t written = 0, skipped = 0;
    SR_RETURN_IF_ERROR(store_.Write("keyring:reencrypt-secrets", [&](storage::WriteTxn& txn) -> Status {
      written = skipped = 0;
      for (Prepared& p : prepared) {
        // Only onto the exact version read: a record changed, deleted, or
        // deleted and created again meanwhile (even back at the same
        // generation) was written under a current key by its writer, or
        // will be by the next run; it is skipped, never overwritten.
        StatusOr<std::uint64_t> put = storage::ReplaceSecureValue(txn, p.read, p.record);
        if (!put.has_value() && put.error().code() == StatusCode::kAborted) {
          ++skipped;
          continue;
        }
        SR_RETURN_IF_ERROR(put);
        ++written;
      }
      return Status::Ok();
    }));
    report.reencrypted += written;
    report.changed_concurrently += skipped;
  }
  return report;
}

}  // namespace strongroom::crypto

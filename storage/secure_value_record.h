// storage/secure_value_record.h — a secure value as stored in
// Table::kSecureValues under the key "<namespace>/<name>": its metadata and
// its envelope (crypto/envelope.h). Authenticated like every table but
// kMeta, so `decrypters` cannot be edited in the file. The record's
// generation (storage's, not a field here) is bound into the envelope's AAD.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::storage {

struct SecureValueRecord {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string description;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::vector<std::string> decrypters;
  std::int64_t created_micros = 0;
  std::string created_by;
  std::uint64_t resource_version = 0;  // of the write that stored this version
  Bytes envelope;
};

// SecureValueKey returns "<namespace>/<name>".
std::string SecureValueKey(std::string_view namespace_name, std::string_view name);

Bytes EncodeSecureValueRecord(const SecureValueRecord& record);
// DecodeSecureValueRecord returns kIntegrityError for a malformed row.
StatusOr<SecureValueRecord> DecodeSecureValueRecord(ByteSpan bytes);

// SecureValueVersion identifies the one stored version of a secure value a
// caller read: which record (its uid; a delete and a create of the same
// name give a new one) and which write of it (the generation storage gave
// it, and the resourceVersion of the write that stored it).
struct SecureValueVersion {
  std::string uid;
  std::uint64_t generation = 0;
  std::uint64_t resource_version = 0;
};

// ReplaceSecureValue stores `replacement` under its key, inside `txn`, in
// place of exactly the version `read`, and sets
// replacement.resource_version to this write's. Returns the generation
// stored (read.generation + 1). kAborted when the stored record is not that
// version any more: changed, deleted, or deleted and created again (even
// at the same generation); kInvalidArgument when replacement.uid differs
// from read.uid; kIntegrityError for a stored row that does not verify or
// decode; errors of WriteTxn::Put otherwise.
// REQUIRES: replacement's envelope is bound to read.uid and
// read.generation + 1.
// SECURITY: compares uid, generation and resourceVersion, not the
// generation alone, so a caller holding a stale read can never overwrite a
// record re-created under the same name with the old one's identity and
// value (the ABA of issue 16).
StatusOr<std::uint64_t> ReplaceSecureValue(WriteTxn& txn, const SecureValueVersion& read,
                                           SecureValueRecord& replacement);

}  // namespace strongroom::storage

// crypto/keyring.h — the key hierarchy's state: the current KEK, the
// record-MAC key, and data keys (one active per namespace per UTC day),
// with a bounded cache of unwrapped data keys and the lifecycle operations
// (rotate data keys, re-wrap, rotate the KEK).
//
// Where things live: KEKs and the audit key pair in the token; data keys in
// storage::Table::kDataKeys, wrapped; "which data key is active for a
// namespace" in kSystem; the wrapped MAC key in kMeta (it cannot be MAC'd by
// itself; RFC 3394's integrity check protects it).
//
// Caches are checked against CacheKind::kDataKeys' generation read in the
// caller's own snapshot, so a rotation by another process (the CLI) takes
// effect on the next call. Thread-safe. REQUIRES for every method: not
// called from inside storage::Store::Write (it may write itself).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/data_key_record.h"
#include "crypto/envelope.h"
#include "crypto/record_mac.h"
#include "crypto/token_service.h"
#include "storage/storage.h"

namespace strongroom::crypto {

struct KeyringOptions {
  // Clock deciding the UTC day of new data keys. Default: the real clock.
  const Clock* clock = Clock::Real();
  // Unwrapped data keys kept in the secure arena. Default 1024.
  std::size_t data_key_cache_capacity = 1024;
  // How long an unwrapped data key stays cached after its last use. Default 1 h.
  std::chrono::seconds data_key_cache_ttl{3600};
  // Encryptions reserved per LMDB write of a data key's counter. Default 65,536.
  std::uint64_t counter_block = 1u << 16;
  // A data key is retired once this many encryptions were reserved.
  // Default 2^31 - 2^16: below 2^31 with a block to spare.
  std::uint64_t max_encryptions_per_data_key = (1ull << 31) - (1ull << 16);
  // Open runs storage::Store::VerifyIntegrity (a full scan) and refuses a
  // store modified outside Strongroom. Default true; tests of read-time
  // checks turn it off.
  bool verify_store_at_open = true;
  // Test seam: ReencryptSecrets calls it on its own thread after it has read
  // and re-sealed a batch and before it writes that batch, so a test can
  // change records in between without timing. Default: none.
  std::function<void()> before_reencrypt_write;
};

// What `strongroom init` created (false: it existed already).
struct InitReport {
  std::string kek_id;
  bool created_kek = false;
  bool created_mac_key = false;
  bool created_audit_key = false;
};

// Binding is the record an envelope belongs to (its AAD minus the key id).
struct ValueBinding {
  std::string_view namespace_name;
  std::string_view name;
  std::string_view uid;
  std::uint64_t generation = 0;
};

struct SealedValue {
  Bytes envelope;
  std::string data_key_id;
};

struct DataKeyInfo {
  std::string id, namespace_name, day, kek_id;
  std::int64_t created_micros = 0;
  bool active = false;
  std::uint64_t reserved_encryptions = 0;
};

struct KekInfo {
  std::string id;
  std::int64_t created_micros = 0;
  bool current = false;
};

struct RewrapReport {
  std::size_t rewrapped = 0;  // data keys moved to the current KEK
  std::size_t already_current = 0;
};

struct KekRotationReport {
  std::string old_kek_id, new_kek_id;
  RewrapReport rewrap;
  // KEKs no record references any more; kept in the token (never destroyed
  // automatically) and reported so an operator may retire them.
  std::vector<std::string> unreferenced_kek_ids;
};

struct ReencryptReport {
  std::size_t scanned = 0;
  std::size_t reencrypted = 0;
  std::size_t already_current = 0;       // under its namespace's active data key
  std::size_t changed_concurrently = 0;  // rewritten by someone else meanwhile (so current)
  std::size_t batches = 0;
};

struct KeyringCounters {
  std::uint64_t unwraps = 0;  // data-key unwraps through the token
  std::uint64_t data_keys_created = 0;
  std::uint64_t cache_hits = 0;
  // Cache lookups that found no usable key (absent or expired). A decrypt
  // that misses on an I/O thread misses once: the handler pool then loads
  // the key (LoadDataKey, not counted) and the decrypt resumes with a hit.
  std::uint64_t cache_misses = 0;
};

class Keyring {
 public:
  // Initialize makes sure the token holds a KEK and the audit key pair and
  // the store holds the wrapped record-MAC key. Idempotent: a second run
  // creates nothing. Returns what it did.
  static StatusOr<InitReport> Initialize(TokenService& token, storage::Store& store,
                                         const Clock* clock = Clock::Real());

  // Open unwraps the MAC key, installs the record authenticator into
  // `store`, verifies the whole store (options.verify_store_at_open) and
  // loads the current KEK id. kFailedPrecondition when the store was never
  // initialised; kNotFound when a KEK it needs is missing from the token;
  // kIntegrityError when a record was edited, removed, added or an old one
  // put back outside Strongroom. `token` and `store` must outlive the Keyring.
  static StatusOr<std::unique_ptr<Keyring>> Open(TokenService& token, storage::Store& store,
                                                 KeyringOptions options = {});

  // Seal encrypts `plaintext` for `binding` under the namespace's active
  // data key for today's UTC day (creating it, through the token, if
  // needed). SECURITY: reserves one encryption on the key's counter first.
  StatusOr<SealedValue> Seal(const ValueBinding& binding, ByteSpan plaintext);

  // Unseal decrypts an envelope made by Seal for the same binding.
  // kIntegrityError for any mismatch or tampering; kNotFound when the data
  // key row is missing; kTokenUnavailable when the key is not cached and
  // the token cannot be reached.
  StatusOr<SecretBytes> Unseal(const ValueBinding& binding, ByteSpan envelope);

  // UnsealIfCached is Unseal for a caller that must not wait for the token
  // (an I/O thread): nullopt, having done nothing, when the data key is not
  // in the cache.
  StatusOr<std::optional<SecretBytes>> UnsealIfCached(const ValueBinding& binding,
                                                      ByteSpan envelope);

  // Unseal and UnsealIfCached for an envelope parsed already
  // (ParseEnvelopeView), so a caller that needed its data-key id first does
  // not parse it twice. The same errors. REQUIRES: `envelope` views bytes
  // that stay valid for the call.
  StatusOr<SecretBytes> Unseal(const ValueBinding& binding, const EnvelopeView& envelope);
  StatusOr<std::optional<SecretBytes>> UnsealIfCached(const ValueBinding& binding,
                                                      const EnvelopeView& envelope);

  // LoadDataKey makes sure the data key `data_key_id` is in the cache,
  // unwrapping it through the token if it is not (the one step of a decrypt
  // that may wait for the token, run by a caller that may block). A key
  // already cached costs a lookup, counted neither as a hit nor as a miss.
  // kNotFound when its row is missing; kTokenUnavailable when the token
  // cannot be reached.
  Status LoadDataKey(std::string_view data_key_id);

  // RotateDataKeys deactivates every active data key; they keep decrypting.
  // Returns how many were deactivated.
  StatusOr<std::size_t> RotateDataKeys();
  // RewrapDataKeys re-wraps every data key (and the MAC key) not wrapped by
  // the current KEK under it, inside the token.
  StatusOr<RewrapReport> RewrapDataKeys();
  // RotateKek generates a new KEK in the token, makes it current and
  // re-wraps everything under it. Old KEKs stay in the token.
  StatusOr<KekRotationReport> RotateKek();

  // ReencryptSecrets re-encrypts every secure value (storage/
  // secure_value_record.h) whose envelope is not under its namespace's
  // active data key, online: `batch_size` records per store write, so other
  // reads and writes interleave between batches. A record changed by another
  // writer meanwhile is left alone (its writer used the current key).
  StatusOr<ReencryptReport> ReencryptSecrets(std::size_t batch_size = 100);

  StatusOr<std::vector<DataKeyInfo>> ListDataKeys() const;
  StatusOr<std::vector<KekInfo>> ListKeks() const;
  std::string current_kek_id() const;
  std::shared_ptr<const storage::RecordAuthenticator> authenticator() const {
    return authenticator_;
  }
  // DeriveKey returns a 32-byte key derived from the record-MAC key for
  // `purpose` (HKDF-SHA256, info = `purpose`; record_mac.h DeriveKey), the
  // same in every process on this store and token: e.g. the list
  // `continue` cursors' MAC key, valid on every node (issue 18).
  // SECURITY: the record-MAC key does not leave crypto/.
  StatusOr<SecretBytes> DeriveKey(std::string_view purpose) const;
  KeyringCounters counters() const;

 private:
  struct CachedKey {
    std::shared_ptr<const SecretBytes> key;
    // steady_clock nanoseconds of the last use; updated under the shared lock.
    std::unique_ptr<std::atomic<std::int64_t>> last_used;
  };
  struct ActiveKey {
    std::string data_key_id;
    std::string day;
    std::uint64_t generation = 0;    // CacheKind::kDataKeys generation when loaded
    std::uint64_t next_counter = 0;  // next encryption number
    std::uint64_t reserved = 0;      // encryptions reserved in the store
  };

  Keyring(TokenService& token, storage::Store& store, KeyringOptions options)
      : token_(token), store_(store), options_(options) {}

  StatusOr<std::shared_ptr<const SecretBytes>> DataKey(std::string_view id);
  // CacheLookup returns the cached key `id`, counting a hit or a miss;
  // nullptr on a miss (no allocation: a decrypt's lookup is on the hot path).
  std::shared_ptr<const SecretBytes> CacheLookup(std::string_view id);
  // Unwrap reads the row of data key `id`, unwraps it and caches it.
  StatusOr<std::shared_ptr<const SecretBytes>> Unwrap(std::string_view id);
  void CacheInsert(std::string_view id, std::shared_ptr<const SecretBytes> key);
  // ReserveActiveKey returns the active key id for `ns` after reserving one
  // encryption, creating/rotating the key as needed.
  StatusOr<std::string> ReserveActiveKey(std::string_view namespace_name);
  StatusOr<std::string> CreateOrAdoptActiveKey(std::string_view namespace_name,
                                               const std::string& day);
  Status ReserveBlock(ActiveKey& active, std::string_view namespace_name);
  Status SetCurrentKek(const std::string& kek_id);

  TokenService& token_;
  storage::Store& store_;
  const KeyringOptions options_;
  std::shared_ptr<const storage::RecordAuthenticator> authenticator_;
  std::shared_ptr<const HmacRecordAuthenticator> record_mac_;  // authenticator_, typed
  mutable std::mutex kek_mu_;
  std::string current_kek_id_;  // guarded by kek_mu_

  std::mutex active_mu_;  // guards active_ (per-namespace reservation state)
  std::unordered_map<std::string, ActiveKey> active_;

  // IdHash lets the cache be searched with a string_view (no key copy).
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  mutable std::shared_mutex cache_mu_;
  // data key id -> plaintext
  std::unordered_map<std::string, CachedKey, IdHash, std::equal_to<>> cache_;

  std::atomic<std::uint64_t> unwraps_{0};
  std::atomic<std::uint64_t> created_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
  std::atomic<std::uint64_t> cache_misses_{0};
};

}  // namespace strongroom::crypto

#include "crypto/keyring.h"

#include <openssl/rand.h>

#include "crypto/keyring_store.h"
#include "crypto/record_mac.h"

namespace strongroom::crypto {
namespace {

std::int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string NewKeyId(std::string_view prefix) {
  std::uint8_t random[8];
  if (RAND_bytes(random, sizeof random) != 1) std::abort();  // the RNG failing is not recoverable
  return std::string(prefix) + HexEncode(ByteSpan(random, sizeof random));
}

StatusOr<InitReport> Keyring::Initialize(TokenService& token, storage::Store& store, const Clock* clock) {
  InitReport report;
  SR_ASSIGN_OR_RETURN(std::optional<WrappedMacKey> existing, ReadWrappedMacKey(store));
  SecretBytes mac_key;
  if (existing.has_value()) {
    report.kek_id = existing->kek_id;
    SR_ASSIGN_OR_RETURN(mac_key, token.UnwrapKey(existing->kek_id, existing->wrapped,
                                           WrappedKeyType::kHmacSha256));
  } else {
    report.kek_id = NewKeyId("kek-");
    SR_RETURN_IF_ERROR(token.GenerateKek(report.kek_id));
    report.created_kek = true;
    SR_ASSIGN_OR_RETURN(GeneratedKey generated,
                        token.GenerateWrappedKey(report.kek_id, WrappedKeyType::kHmacSha256));
    SR_RETURN_IF_ERROR(WriteWrappedMacKey(store, WrappedMacKey{report.kek_id, generated.wrapped}));
    mac_key = std::move(generated.plaintext);
    report.created_mac_key = true;
  }
  SR_ASSIGN_OR_RETURN(auto authenticator, HmacRecordAuthenticator::Create(std::move(mac_key)));
  store.SetAuthenticator(authenticator);
  SR_RETURN_IF_ERROR(RecordKekIfMissing(store, report.kek_id, UnixMicros(clock->Now()),
                                        /*make_current_if_none=*/true));
  SR_ASSIGN_OR_RETURN(report.created_audit_key, token.EnsureAuditKeyPair());
  return report;
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(TokenService& token, storage::Store& store,
                                                 KeyringOptions options) {
  SR_ASSIGN_OR_RETURN(std::optional<WrappedMacKey> wrapped, ReadWrappedMacKey(store));
  if (!wrapped.has_value()) {
    return std::unexpected(
        Status::FailedPrecondition("the store is not initialised; run `strongroom init` first"));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes mac_key, token.UnwrapKey(wrapped->kek_id, wrapped->wrapped,
                                                     WrappedKeyType::kHmacSha256));
  SR_ASSIGN_OR_RETURN(auto authenticator, HmacRecordAuthenticator::Create(std::move(mac_key)));
  store.SetAuthenticator(authenticator);
  if (options.verify_store_at_open) SR_RETURN_IF_ERROR(store.VerifyIntegrity());
  std::unique_ptr<Keyring> keyring(new Keyring(token, store, options));
  keyring->authenticator_ = authenticator;
  keyring->record_mac_ = authenticator;
  SR_ASSIGN_OR_RETURN(keyring->current_kek_id_, ReadCurrentKekId(store));
  return keyring;
}

StatusOr<SecretBytes> Keyring::DeriveKey(std::string_view purpose) const {
  return record_mac_->DeriveKey(purpose, 32);
}

std::string Keyring::current_kek_id() const {
  std::lock_guard<std::mutex> lock(kek_mu_);
  return current_kek_id_;
}

KeyringCounters Keyring::counters() const {
  return KeyringCounters{unwraps_.load(), created_.load(), cache_hits_.load(),
                         cache_misses_.load()};
}

StatusOr<SealedValue> Keyring::Seal(const ValueBinding& binding, ByteSpan plaintext) {
  SR_ASSIGN_OR_RETURN(std::string id, ReserveActiveKey(binding.namespace_name));
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBytes> key, DataKey(id));
  EnvelopeContext context{binding.namespace_name, binding.name, binding.uid, binding.generation,
                          id};
  SR_ASSIGN_OR_RETURN(Bytes envelope, SealEnvelope(*key, context, plaintext));
  return SealedValue{std::move(envelope), std::move(id)};
}

StatusOr<SecretBytes> Keyring::Unseal(const ValueBinding& binding, ByteSpan envelope) {
  SR_ASSIGN_OR_RETURN(EnvelopeView parsed, ParseEnvelopeView(envelope));
  return Unseal(binding, parsed);
}

StatusOr<std::optional<SecretBytes>> Keyring::UnsealIfCached(const ValueBinding& binding,
                                                             ByteSpan envelope) {
  SR_ASSIGN_OR_RETURN(EnvelopeView parsed, ParseEnvelopeView(envelope));
  return UnsealIfCached(binding, parsed);
}

namespace {

// ContextFor is the AAD context of `envelope` opened for `binding`.
EnvelopeContext ContextFor(const ValueBinding& binding, const EnvelopeView& envelope) {
  return EnvelopeContext{binding.namespace_name, binding.name, binding.uid, binding.generation,
                         envelope.data_key_id};
}

}  // namespace

StatusOr<SecretBytes> Keyring::Unseal(const ValueBinding& binding, const EnvelopeView& envelope) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBytes> key, DataKey(envelope.data_key_id));
  return OpenEnvelope(*key, ContextFor(binding, envelope), envelope);
}

StatusOr<std::optional<SecretBytes>> Keyring::UnsealIfCached(const ValueBinding& binding,
                                                             const EnvelopeView& envelope) {
  std::shared_ptr<const SecretBytes> key = CacheLookup(envelope.data_key_id);
  if (key == nullptr) return std::optional<SecretBytes>();
  SR_ASSIGN_OR_RETURN(SecretBytes value,
                      OpenEnvelope(*key, ContextFor(binding, envelope), envelope));
  return std::optional<SecretBytes>(std::move(value));
}

Status Keyring::LoadDataKey(std::string_view data_key_id) {
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    auto it = cache_.find(data_key_id);
    const std::int64_t ttl =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.data_key_cache_ttl).count();
    if (it != cache_.end() &&
        SteadyNanos() - it->second.last_used->load(std::memory_order_relaxed) <= ttl) {
      return Status::Ok();
    }
  }
  StatusOr<std::shared_ptr<const SecretBytes>> unwrapped = Unwrap(data_key_id);
  return unwrapped.has_value() ? Status::Ok() : unwrapped.error();
}

std::shared_ptr<const SecretBytes> Keyring::CacheLookup(std::string_view id) {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = cache_.find(id);
  if (it == cache_.end()) {
    cache_misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  std::int64_t now = SteadyNanos();
  std::int64_t ttl =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.data_key_cache_ttl).count();
  if (now - it->second.last_used->load(std::memory_order_relaxed) > ttl) {
    cache_misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;  // expired; replaced on insert
  }
  it->second.last_used->store(now, std::memory_order_relaxed);
  cache_hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second.key;
}

void Keyring::CacheInsert(std::string_view id, std::shared_ptr<const SecretBytes> key) {
  std::unique_lock<std::shared_mutex> lock(cache_mu_);
  if (cache_.size() >= options_.data_key_cache_capacity && cache_.find(id) == cache_.end()) {
    auto oldest = cache_.begin();
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->second.last_used->load() < oldest->second.last_used->load()) oldest = it;
    }
    if (oldest != cache_.end()) cache_.erase(oldest);
  }
  CachedKey entry{std::move(key), std::make_unique<std::atomic<std::int64_t>>(SteadyNanos())};
  cache_.insert_or_assign(std::string(id), std::move(entry));
}

StatusOr<std::shared_ptr<const SecretBytes>> Keyring::DataKey(std::string_view id) {
  std::shared_ptr<const SecretBytes> cached = CacheLookup(id);
  if (cached != nullptr) return cached;
  return Unwrap(id);
}

StatusOr<std::shared_ptr<const SecretBytes>> Keyring::Unwrap(std::string_view id) {
  SR_ASSIGN_OR_RETURN(DataKeyRecord row, ReadDataKeyRecord(store_, std::string(id)));
  SR_ASSIGN_OR_RETURN(SecretBytes plaintext,
                      token_.UnwrapKey(row.kek_id, row.wrapped, WrappedKeyType::kAes256));
  unwraps_.fetch_add(1, std::memory_order_relaxed);
  auto key = std::make_shared<const SecretBytes>(std::move(plaintext));
  CacheInsert(id, key);
  return key;
}

}  // namespace strongroom::crypto

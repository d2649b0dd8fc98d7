// crypto/token_service.h — TokenService, the operations the appliance needs
// from its token, and nothing more: KEKs, data keys wrapped and unwrapped,
// the audit key pair's signatures, the trust anchor and a readiness probe.
//
// Two implementations: LocalTokenService (below) runs them on a
// crypto::Token opened in this process (the single-process mode, the
// default, for development and tests); tokend/tokend.h's client runs them
// in `strongroom tokend`, a separate process under its own user that holds
// the PIN and the token's files, over a unix socket. Callers (the keyring,
// the audit log's signer and anchor keeper, readiness and metrics) see only
// this interface, so they cannot tell which one they have.
//
// SECURITY: key material crosses this interface only as the plaintext of a
// data key (or the record-MAC key) the caller asked for, in SecretBytes; a
// KEK and the audit private key never leave the token through any method.
// Thread-safety: every implementation is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/audit_signing_key.h"
#include "crypto/kek.h"
#include "crypto/token.h"
#include "crypto/trust_anchor.h"

namespace strongroom::crypto {

// AuditSignature is a raw ECDSA P-256 r||s signature.
using AuditSignature = std::array<std::uint8_t, 64>;

class TokenService {
 public:
  virtual ~TokenService() = default;

  // KEKs (crypto/kek.h): GenerateKek is kAlreadyExists when `kek_id` is
  // taken; KekExists and ListKekIds only read.
  virtual Status GenerateKek(std::string_view kek_id) = 0;
  virtual StatusOr<bool> KekExists(std::string_view kek_id) = 0;
  virtual StatusOr<std::vector<std::string>> ListKekIds() = 0;

  // GenerateWrappedKey, UnwrapKey and RewrapKey are kek.h's, on this
  // token: kNotFound for a missing KEK, kIntegrityError for a wrapped key
  // that does not unwrap under it.
  virtual StatusOr<GeneratedKey> GenerateWrappedKey(std::string_view kek_id,
                                                    WrappedKeyType type) = 0;
  virtual StatusOr<SecretBytes> UnwrapKey(std::string_view kek_id, ByteSpan wrapped,
                                          WrappedKeyType type) = 0;
  virtual StatusOr<Bytes> RewrapKey(std::string_view from_kek_id, std::string_view to_kek_id,
                                    ByteSpan wrapped, WrappedKeyType type) = 0;
  // GenerateEscrowableKek is crypto/escrow.h's: a KEK that the token wraps
  // only under the trusted escrow key `escrow_key_sha256`, returned wrapped
  // under it (the one way a KEK leaves the token; issue 22).
  virtual StatusOr<Bytes> GenerateEscrowableKek(std::string_view kek_id,
                                                std::string_view escrow_key_sha256) = 0;

  // The audit key pair (crypto/audit_signing_key.h).
  virtual StatusOr<bool> EnsureAuditKeyPair() = 0;
  virtual StatusOr<AuditPublicKey> GetAuditPublicKey() = 0;
  virtual StatusOr<AuditSignature> SignWithAuditKey(ByteSpan message) = 0;

  // The trust anchor of node `node` ("" a single appliance's;
  // crypto/trust_anchor.h).
  virtual StatusOr<std::optional<TrustAnchor>> ReadTrustAnchor(std::string_view node = {}) = 0;
  virtual Status WriteTrustAnchor(const TrustAnchor& anchor, std::string_view node = {}) = 0;
  virtual Status ReplaceTrustAnchor(const TrustAnchor& anchor, std::string_view node = {}) = 0;

  // Probe checks that the token can be used now, for readiness:
  // kTokenUnavailable when not (or when the token service is unreachable).
  virtual Status Probe() = 0;

  // token_label returns the token's CKA label, for diagnostics and backup
  // manifests ("" when unknown).
  virtual std::string token_label() const = 0;

  // counters returns cumulative operation counts, for metrics. A remote
  // service counts the calls this process made (sessions_opened: the
  // connections opened; recoveries: reconnections after a lost one).
  virtual TokenCounters counters() const = 0;
};

// LocalTokenService runs every operation on a crypto::Token in this
// process (the single-process mode).
class LocalTokenService final : public TokenService {
 public:
  // Borrows `token`, which must outlive this object.
  explicit LocalTokenService(Token& token) : token_(token) {}
  // Owns `token`.
  explicit LocalTokenService(std::unique_ptr<Token> token)
      : owned_(std::move(token)), token_(*owned_) {}

  Status GenerateKek(std::string_view kek_id) override;
  StatusOr<bool> KekExists(std::string_view kek_id) override;
  StatusOr<std::vector<std::string>> ListKekIds() override;
  StatusOr<GeneratedKey> GenerateWrappedKey(std::string_view kek_id,
                                            WrappedKeyType type) override;
  StatusOr<SecretBytes> UnwrapKey(std::string_view kek_id, ByteSpan wrapped,
                                  WrappedKeyType type) override;
  StatusOr<Bytes> RewrapKey(std::string_view from_kek_id, std::string_view to_kek_id,
                            ByteSpan wrapped, WrappedKeyType type) override;
  StatusOr<Bytes> GenerateEscrowableKek(std::string_view kek_id,
                                        std::string_view escrow_key_sha256) override;
  StatusOr<bool> EnsureAuditKeyPair() override;
  StatusOr<AuditPublicKey> GetAuditPublicKey() override;
  StatusOr<AuditSignature> SignWithAuditKey(ByteSpan message) override;
  StatusOr<std::optional<TrustAnchor>> ReadTrustAnchor(std::string_view node = {}) override;
  Status WriteTrustAnchor(const TrustAnchor& anchor, std::string_view node = {}) override;
  Status ReplaceTrustAnchor(const TrustAnchor& anchor, std::string_view node = {}) override;
  Status Probe() override;
  std::string token_label() const override { return token_.token_label(); }
  TokenCounters counters() const override { return token_.counters(); }

  // token returns the token, for tests and diagnostics.
  Token& token() { return token_; }

 private:
  std::unique_ptr<Token> owned_;  // null when borrowed
  Token& token_;
};

}  // namespace strongroom::crypto

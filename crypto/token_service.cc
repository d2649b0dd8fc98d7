#include "crypto/token_service.h"

#include "crypto/escrow.h"

namespace strongroom::crypto {

Status LocalTokenService::GenerateKek(std::string_view kek_id) {
  return crypto::GenerateKek(token_, kek_id);
}

StatusOr<bool> LocalTokenService::KekExists(std::string_view kek_id) {
  return crypto::KekExists(token_, kek_id);
}

StatusOr<std::vector<std::string>> LocalTokenService::ListKekIds() {
  return crypto::ListKekIds(token_);
}

StatusOr<GeneratedKey> LocalTokenService::GenerateWrappedKey(std::string_view kek_id,
                                                             WrappedKeyType type) {
  return crypto::GenerateWrappedKey(token_, kek_id, type);
}

StatusOr<SecretBytes> LocalTokenService::UnwrapKey(std::string_view kek_id, ByteSpan wrapped,
                                                   WrappedKeyType type) {
  return crypto::UnwrapKey(token_, kek_id, wrapped, type);
}

StatusOr<Bytes> LocalTokenService::RewrapKey(std::string_view from_kek_id,
                                             std::string_view to_kek_id, ByteSpan wrapped,
                                             WrappedKeyType type) {
  return crypto::RewrapKey(token_, from_kek_id, to_kek_id, wrapped, type);
}

StatusOr<Bytes> LocalTokenService::GenerateEscrowableKek(std::string_view kek_id,
                                                         std::string_view escrow_key_sha256) {
  return crypto::GenerateEscrowableKek(token_, kek_id, escrow_key_sha256);
}

StatusOr<bool> LocalTokenService::EnsureAuditKeyPair() { return crypto::EnsureAuditKeyPair(token_); }

StatusOr<AuditPublicKey> LocalTokenService::GetAuditPublicKey() {
  return crypto::GetAuditPublicKey(token_);
}

StatusOr<AuditSignature> LocalTokenService::SignWithAuditKey(ByteSpan message) {
  return crypto::SignWithAuditKey(token_, message);
}

StatusOr<std::optional<TrustAnchor>> LocalTokenService::ReadTrustAnchor(std::string_view node) {
  return crypto::ReadTrustAnchor(token_, node);
}

Status LocalTokenService::WriteTrustAnchor(const TrustAnchor& anchor, std::string_view node) {
  return crypto::WriteTrustAnchor(token_, anchor, node);
}

Status LocalTokenService::ReplaceTrustAnchor(const TrustAnchor& anchor, std::string_view node) {
  return crypto::ReplaceTrustAnchor(token_, anchor, node);
}

Status LocalTokenService::Probe() { return token_.Probe(); }

}  // namespace strongroom::crypto

// The escrow key pair in OpenSSL: generation, fingerprint, OAEP unwrap.
#include "crypto/escrow_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/openssl_ptr.h"
#include "crypto/escrow.h"

namespace strongroom::crypto {
namespace {

// OpenSSL's secure heap for the escrow key's numbers: an RSA-3072 private
// key and its working values take a few KiB.
constexpr std::size_t kSecureHeapBytes = 256 * 1024;
constexpr std::size_t kSecureHeapMinBlock = 32;

StatusOr<EvpPkeyPtr> ParsePrivateKey(const SecretBytes& der) {
  const unsigned char* p = der.RevealSecret().data();
  EvpPkeyPtr key(d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  if (!key) {
    ClearOpenSslErrors();
    return std::unexpected(Status::IntegrityError("the rebuilt escrow key is not an RSA key"));
  }
  return key;
}

StatusOr<Bytes> PublicDer(EVP_PKEY* key) {
  int length = i2d_PUBKEY(key, nullptr);
  if (length <= 0) return std::unexpected(OpenSslError("encoding the escrow public key"));
  Bytes der(static_cast<std::size_t>(length));
  std::uint8_t* p = der.data();
  if (i2d_PUBKEY(key, &p) != length)
    return std::unexpected(OpenSslError("encoding the escrow public key"));
  return der;
}

StatusOr<SecretBytes> PrivateDer(EVP_PKEY* key) {
  int length = i2d_PrivateKey(key, nullptr);
  if (length <= 0) return std::unexpected(OpenSslError("encoding the escrow private key"));
  SR_ASSIGN_OR_RETURN(SecretBytes der, SecretBytes::Allocate(static_cast<std::size_t>(length)));
  std::uint8_t* p = der.RevealMutableSecret().data();
  if (i2d_PrivateKey(key, &p) != length)
    return std::unexpected(OpenSslError("encoding the escrow private key"));
  return der;
}

}  // namespace

Status InstallEscrowSecureHeap() {
  if (CRYPTO_secure_malloc_initialized()) return Status::Ok();
  if (CRYPTO_secure_malloc_init(kSecureHeapBytes, kSecureHeapMinBlock) != 1) {
    ClearOpenSslErrors();
    return Status::FailedPrecondition(
        "cannot lock memory for the escrow key (OpenSSL's secure heap); raise RLIMIT_MEMLOCK");
  }
  return Status::Ok();
}

std::string EscrowKeyFingerprint(ByteSpan public_key_der) {
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(public_key_der.data(), public_key_der.size(), digest, &length, EVP_sha256(),
                 nullptr) != 1) {
    std::abort();  // SHA-256 of a buffer cannot fail unless OpenSSL is broken
  }
  return HexEncode(ByteSpan(digest, length));
}

StatusOr<EscrowKeyPair> GenerateEscrowKey() {
  SR_RETURN_IF_ERROR(InstallEscrowSecureHeap());
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), kEscrowRsaBits) != 1) {
    return std::unexpected(OpenSslError("preparing the escrow key generation"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return std::unexpected(OpenSslError("generating the escrow key"));
  }
  EvpPkeyPtr key(raw);
  EscrowKeyPair out;
  SR_ASSIGN_OR_RETURN(out.public_key_der, PublicDer(key.get()));
  SR_ASSIGN_OR_RETURN(out.private_key_der, PrivateDer(key.get()));
  out.fingerprint_sha256 = EscrowKeyFingerprint(out.public_key_der);
  return out;
}

// CompleteEscrowKeyPair is CombineShares' last step (escrow_shares.cc): the
// public key and fingerprint of a rebuilt private key.
StatusOr<EscrowKeyPair> CompleteEscrowKeyPair(SecretBytes private_key_der) {
  SR_RETURN_IF_ERROR(InstallEscrowSecureHeap());
  SR_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKey(private_key_der));
  if (EVP_PKEY_get_bits(key.get()) != kEscrowRsaBits) {
    return std::unexpected(Status::IntegrityError("the rebuilt escrow key has the wrong size"));
  }
  EscrowKeyPair out;
  SR_ASSIGN_OR_RETURN(out.public_key_der, PublicDer(key.get()));
  out.fingerprint_sha256 = EscrowKeyFingerprint(out.public_key_der);
  out.private_key_der = std::move(private_key_der);
  return out;
}

StatusOr<SecretBytes> EscrowDecrypt(const EscrowKeyPair& pair, ByteSpan wrapped) {
  SR_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKey(pair.private_key_der));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha1()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha1()) != 1) {
    return std::unexpected(OpenSslError("preparing the escrow unwrap"));
  }
  std::size_t length = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &length, wrapped.data(), wrapped.size()) != 1) {
    return std::unexpected(OpenSslError("sizing the escrow unwrap"));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes out, SecretBytes::Allocate(length));
  if (EVP_PKEY_decrypt(ctx.get(), out.RevealMutableSecret().data(), &length, wrapped.data(),
                       wrapped.size()) != 1) {
    ClearOpenSslErrors();
    return std::unexpected(
        Status::IntegrityError("an escrowed KEK does not decrypt under the escrow key"));
  }
  out.Truncate(length);
  return out;
}

}  // namespace strongroom::crypto

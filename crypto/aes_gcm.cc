#include "crypto/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>

#include "base/openssl_ptr.h"

namespace strongroom::crypto {
namespace {

// The cipher is fetched once: EVP_CIPHER_fetch per call costs a provider
// lookup under a lock.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

EVP_CIPHER_CTX* ThreadCipherContext() {
  thread_local EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

// CipherContext is the EVP context of one call: the thread's own for 96-bit
// IVs, a fresh one for any other IV length (so the thread's context never
// carries a non-standard IV length into the next call). Unless the call
// reports Succeeded(), the context is reset when the call ends, which frees
// OpenSSL's GCM state with OPENSSL_clear_free, so a failed call leaves
// nothing half-done for the next one.
//
// SECURITY: after a successful call the thread's context keeps the last key
// schedule and GHASH key (as secret as the data key) in OpenSSL's ordinary
// heap until the thread's next call overwrites them or the thread exits. That
// is outside the locked arena, like OpenSSL's own buffers. Resetting after
// every call would wipe them at once, but costs a free, a re-allocation and a
// wipe of OpenSSL's state: ~0.2 us, a fifth of a 1 KiB open (measured with
// bench/crypto_bench on the project's 2-core machine).
class CipherContext {
 public:
  explicit CipherContext(std::size_t iv_size) {
    if (iv_size == kAesGcmStandardIvBytes) {
      ctx_ = ThreadCipherContext();
    } else {
      owned_.reset(EVP_CIPHER_CTX_new());
      ctx_ = owned_.get();
    }
  }
  ~CipherContext() {
    if (ctx_ != nullptr && !succeeded_) EVP_CIPHER_CTX_reset(ctx_);
  }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;

  EVP_CIPHER_CTX* get() const { return ctx_; }
  void Succeeded() { succeeded_ = true; }

 private:
  EvpCipherCtxPtr owned_;
  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool succeeded_ = false;
};

// Init readies `ctx` for one operation: `enc` 1 encrypts, 0 decrypts.
bool Init(EVP_CIPHER_CTX* ctx, int enc, ByteSpan key, ByteSpan iv) {
  if (iv.size() == kAesGcmStandardIvBytes) {
    // The cipher is named only to a context that has none: OpenSSL 3 frees
    // and re-allocates a context's state on every Init that names one.
    // Re-keying a context that holds AES-256-GCM restarts it cleanly (new key
    // schedule and GHASH key, new IV, empty AAD, counters and tag).
    const EVP_CIPHER* cipher = EVP_CIPHER_CTX_get0_cipher(ctx) == nullptr ? Aes256Gcm() : nullptr;
    return EVP_CipherInit_ex2(ctx, cipher, key.data(), iv.data(), enc, nullptr) == 1;
  }
  // A non-standard IV length is set between choosing the cipher and passing
  // the IV (the context is fresh, see CipherContext).
  const int iv_size = static_cast<int>(iv.size());
  return EVP_CipherInit_ex2(ctx, Aes256Gcm(), nullptr, nullptr, enc, nullptr) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, iv_size, nullptr) == 1 &&
         EVP_CipherInit_ex2(ctx, nullptr, key.data(), iv.data(), enc, nullptr) == 1;
}

Status CheckArguments(ByteSpan key, ByteSpan iv, std::size_t tag_size, std::size_t aad_size,
                      std::size_t text_size) {
  if (key.size() != kAesGcmKeyBytes) {
    return Status::InvalidArgument("AES-256-GCM key must be 32 bytes");
  }
  if (iv.empty() || iv.size() > kAesGcmMaxIvBytes) {
    return Status::InvalidArgument("AES-GCM IV must be 1..128 bytes");
  }
  if (tag_size < kAesGcmMinTagBytes || tag_size > kAesGcmMaxTagBytes) {
    return Status::InvalidArgument("AES-GCM tag must be 4..16 bytes");
  }
  // EVP lengths are ints.
  if (aad_size > INT_MAX || text_size > INT_MAX) {
    return Status::InvalidArgument("AES-GCM input too large");
  }
  if (Aes256Gcm() == nullptr) return OpenSslError("AES-256-GCM unavailable");
  return Status::Ok();
}

}  // namespace

Status AesGcmEncryptRaw(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext,
                        std::span<std::uint8_t> ciphertext_out, std::span<std::uint8_t> tag_out) {
  SR_RETURN_IF_ERROR(CheckArguments(key, iv, tag_out.size(), aad.size(), plaintext.size()));
  if (ciphertext_out.size() != plaintext.size()) {
    return Status::InvalidArgument("AES-GCM ciphertext buffer must match the plaintext size");
  }
  CipherContext ctx(iv.size());
  if (ctx.get() == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
  const int text_size = static_cast<int>(plaintext.size());
  int len = 0;
  int final_len = 0;
  // GCM is a stream mode: Update writes every byte and Final none, so Final
  // gets a scratch block instead of a pointer past a possibly empty output.
  std::uint8_t final_block[16];
  bool ok = Init(ctx.get(), 1, key, iv) &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                              static_cast<int>(aad.size())) == 1) &&
            (plaintext.empty() || (EVP_EncryptUpdate(ctx.get(), ciphertext_out.data(), &len,
                                                     plaintext.data(), text_size) == 1 &&
                                   len == text_size)) &&
            EVP_EncryptFinal_ex(ctx.get(), final_block, &final_len) == 1 && final_len == 0 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_out.size()),
                                tag_out.data()) == 1;
  if (!ok) return OpenSslError("AES-256-GCM encrypt");
  ctx.Succeeded();
  return Status::Ok();
}

StatusOr<SecretBytes> AesGcmDecryptRaw(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan ciphertext,
                                       ByteSpan tag) {
  SR_RETURN_IF_ERROR(CheckArguments(key, iv, tag.size(), aad.size(), ciphertext.size()));
  CipherContext ctx(iv.size());
  if (ctx.get() == nullptr) return std::unexpected(OpenSslError("EVP_CIPHER_CTX_new"));
  SR_ASSIGN_OR_RETURN(SecretBytes plaintext, SecretBytes::Allocate(ciphertext.size()));

  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer.
  std::uint8_t expected_tag[kAesGcmMaxTagBytes];
  std::copy(tag.begin(), tag.end(), expected_tag);
  const int text_size = static_cast<int>(ciphertext.size());
  int len = 0;
  bool ok =
      Init(ctx.get(), 0, key, iv) &&
      (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                        static_cast<int>(aad.size())) == 1) &&
      (ciphertext.empty() || (EVP_DecryptUpdate(ctx.get(), plaintext.RevealMutableSecret().data(),
                                                &len, ciphertext.data(), text_size) == 1 &&
                              len == text_size)) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()),
                          expected_tag) == 1;
  if (!ok) {
    // SECURITY: whatever was decrypted is unauthenticated; wipe it now (the
    // arena wipes again when the block is freed).
    if (!plaintext.empty()) {
      OPENSSL_cleanse(plaintext.RevealMutableSecret().data(), plaintext.size());
    }
    return std::unexpected(OpenSslError("AES-256-GCM decrypt"));
  }
  // SECURITY: OpenSSL has already written the plaintext; it is wiped and
  // released unless Final accepts the tag.
  int final_len = 0;
  std::uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &final_len) != 1 || final_len != 0) {
    if (!plaintext.empty()) {
      OPENSSL_cleanse(plaintext.RevealMutableSecret().data(), plaintext.size());
    }
    ClearOpenSslErrors();
    return std::unexpected(Status::IntegrityError("AES-GCM tag did not verify"));
  }
  ctx.Succeeded();
  return plaintext;
}

}  // namespace strongroom::crypto

// crypto/escrow.h — M-of-N escrow of the KEKs (issue 22): the one way a KEK
// may leave the token, chosen by the operator, so the store survives the
// loss of the token itself.
//
// The pieces, in the order `strongroom escrow setup` and `escrow recover`
// use them:
//   1. GenerateEscrowKey: an RSA-3072 key pair made by OpenSSL outside the
//      token. The private half lives in locked memory only: its PKCS#8 DER
//      in SecretBytes, and OpenSSL's own copy in OpenSSL's secure heap
//      (InstallEscrowSecureHeap).
//   2. ImportTrustedEscrowKey: the token's security officer (an SO session,
//      opened for this one call) imports the public half as a trusted
//      wrapping key (CKA_TRUSTED true, which only an SO may set; an SO
//      session writes only public objects, so CKA_PRIVATE false).
//   3. SplitEscrowKey: the private half split with Shamir's scheme over
//      GF(256) (libgfshare) into N shares, M needed; each written to a share
//      file with its number, the escrow key's fingerprint and a checksum.
//      Then every copy of the private half is wiped.
//   4. GenerateKekForStore: once the store has an escrow configuration,
//      every new KEK is escrowable (CKA_EXTRACTABLE true,
//      CKA_WRAP_WITH_TRUSTED true: the token wraps it only under a trusted
//      key and never reveals its value) and is wrapped once, with RSA-OAEP,
//      under the trusted escrow key; the wrapped copy is kept in the store
//      (and so in every backup).
//   5. Recovery: CombineShares rebuilds the private half from M share files,
//      EscrowDecrypt unwraps each escrowed KEK into locked memory and
//      ImportRecoveredKek puts it into a new token as a non-extractable,
//      wrap/unwrap-only KEK with its original id.
//
// SECURITY: RSA-OAEP here is SHA-1 with MGF1-SHA-1, the only OAEP SoftHSM
// 2.6.1 accepts for C_WrapKey; OAEP's security does not rest on SHA-1's
// collision resistance. Without an escrow configuration nothing here runs and
// KEKs stay non-extractable (crypto/kek.h). A module that does not support
// CKA_WRAP_WITH_TRUSTED / CKA_TRUSTED refuses escrow with kFailedPrecondition;
// nothing is silently weakened.
// Thread-safety: the functions are thread-safe (Token and Store are).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/token.h"
#include "storage/storage.h"

namespace strongroom::crypto {

class TokenService;

// kEscrowRsaBits is the escrow key's modulus size.
inline constexpr int kEscrowRsaBits = 3072;

// InstallEscrowSecureHeap initialises OpenSSL's secure heap (locked, out of
// core dumps) if it is not yet, so the escrow private key's numbers that
// OpenSSL allocates are locked too. kFailedPrecondition when it cannot be
// locked. Idempotent.
Status InstallEscrowSecureHeap();

// EscrowKeyPair is the escrow key: the private half only in locked memory.
struct EscrowKeyPair {
  SecretBytes private_key_der;     // PKCS#8 DER
  Bytes public_key_der;            // SubjectPublicKeyInfo DER
  std::string fingerprint_sha256;  // hex SHA-256 of public_key_der
};

// GenerateEscrowKey makes a new RSA-3072 key pair with OpenSSL.
// REQUIRES: a secure arena (SecretBytes) is installed.
StatusOr<EscrowKeyPair> GenerateEscrowKey();

// EscrowKeyFingerprint returns the hex SHA-256 of a DER public key.
std::string EscrowKeyFingerprint(ByteSpan public_key_der);

// EscrowShare is one officer's share of the escrow private key.
struct EscrowShare {
  std::uint8_t number = 0;     // 1..officers (the x coordinate)
  std::uint8_t officers = 0;   // N
  std::uint8_t threshold = 0;  // M
  std::string escrow_key_sha256;
  SecretBytes data;  // as long as the private key's DER
};

// SplitEscrowKey splits key.private_key_der into `officers` shares of which
// `threshold` rebuild it. kInvalidArgument unless 2 <= threshold <=
// officers <= 255.
// SECURITY: libgfshare's random coefficients come from OpenSSL's RAND_bytes
// (the process aborts if it fails); libgfshare keeps its working copy in
// the heap while splitting and overwrites it when freed.
StatusOr<std::vector<EscrowShare>> SplitEscrowKey(const EscrowKeyPair& key, int officers,
                                                  int threshold);

// CombineShares rebuilds the escrow key pair from `shares`: they must name
// the same escrow key, officers and threshold, have distinct numbers, and
// be at least `threshold`. The rebuilt key's fingerprint must be the one the
// shares name. kFailedPrecondition for too few shares (M-1 shares recover
// nothing: the arithmetic would give an unrelated value), kInvalidArgument
// for shares of different keys or repeated numbers, kIntegrityError when the
// rebuilt key is not the named one (a share was altered).
StatusOr<EscrowKeyPair> CombineShares(const std::vector<EscrowShare>& shares);

// WriteShareFile writes `share` to a new file at `path` (mode 0600,
// O_EXCL: an existing file is never overwritten): a small text file with
// the format, the escrow key's fingerprint, the share's number, N, M, the
// share in hex and a SHA-256 checksum of all that.
Status WriteShareFile(const std::string& path, const EscrowShare& share);

// ReadShareFile reads a file WriteShareFile wrote. kInvalidArgument for a
// malformed file, kIntegrityError when its checksum does not match,
// kNotFound when missing.
StatusOr<EscrowShare> ReadShareFile(const std::string& path);

// EscrowDecrypt unwraps `wrapped` (RSA-OAEP, SHA-1, made by the token's
// C_WrapKey) with the escrow private key into locked memory.
// kIntegrityError when it does not decrypt.
StatusOr<SecretBytes> EscrowDecrypt(const EscrowKeyPair& key, ByteSpan wrapped);

// --- In the token ---

// ImportTrustedEscrowKey opens its own session on the token that `options`
// names, logs in as the security officer with `so_pin`, creates the trusted
// public wrapping key (CKA_ID = `fingerprint`, label
// "strongroom-escrow-<first 16 hex>") unless it exists, and logs out.
// REQUIRES: no Token is open on that module in this process (PKCS#11
// allows one login per application and token). kPermissionDenied for a
// wrong SO PIN; kFailedPrecondition when the module does not support
// trusted keys.
// SECURITY: the SO PIN is used for this call only and never stored.
Status ImportTrustedEscrowKey(const TokenOptions& options, const SecretBytes& so_pin,
                              ByteSpan public_key_der, std::string_view fingerprint);

// TrustedEscrowKeyPresent reports whether the token holds the trusted
// escrow key `fingerprint` with CKA_TRUSTED true.
StatusOr<bool> TrustedEscrowKeyPresent(Token& token, std::string_view fingerprint);

// GenerateEscrowableKek creates a KEK like GenerateKek, but with
// CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true, and wraps it under the
// trusted escrow key `fingerprint` (CKM_RSA_PKCS_OAEP). Returns the wrapped
// KEK. kFailedPrecondition when the module ignores CKA_WRAP_WITH_TRUSTED
// (the KEK is then destroyed again) or the trusted key is missing.
StatusOr<Bytes> GenerateEscrowableKek(Token& token, std::string_view kek_id,
                                      std::string_view fingerprint);

// ImportRecoveredKek creates KEK `kek_id` with `value` in the token: a
// token object, private, sensitive, non-extractable, wrap/unwrap only (as
// GenerateKek's). kAlreadyExists when the token already has it.
// SECURITY: the value goes from locked memory straight into the template.
Status ImportRecoveredKek(Token& token, std::string_view kek_id, const SecretBytes& value);

// --- In the store ---
//
//   kSystem "escrow-key"  u8 format, u8 officers, u8 threshold, u64 created
//                         (unix micros), str16 fingerprint, str32 public DER
//                         (authenticated: a change outside Strongroom fails)
//   kMeta "escrowed-keks" u8 format, u16 count, then per KEK: str16 KEK id,
//                         str16 escrow key fingerprint, str32 wrapped KEK.
//                         Unauthenticated on purpose: recovery reads it
//                         before any KEK (and so the record-MAC key) exists;
//                         RSA-OAEP protects each wrapped KEK's integrity and
//                         the record-MAC key's unwrap checks the KEK.

struct EscrowConfig {
  int officers = 0;
  int threshold = 0;
  std::int64_t created_micros = 0;
  std::string fingerprint_sha256;
  Bytes public_key_der;
};

struct EscrowedKek {
  std::string kek_id;
  std::string escrow_key_sha256;
  Bytes wrapped;
};

// WriteEscrowConfig records that KEKs of this store are escrowed from now on.
Status WriteEscrowConfig(storage::Store& store, const EscrowConfig& config);
// ReadEscrowConfig returns the configuration, or nullopt without escrow.
// REQUIRES: the store has its authenticator (after Keyring::Open/Initialize).
StatusOr<std::optional<EscrowConfig>> ReadEscrowConfig(storage::Store& store);
// AddEscrowedKek adds (or replaces) `kek`'s wrapped copy.
Status AddEscrowedKek(storage::Store& store, const EscrowedKek& kek);
// ReadEscrowedKeks returns every wrapped KEK (empty without escrow).
StatusOr<std::vector<EscrowedKek>> ReadEscrowedKeks(storage::Store& store);

// GenerateKekForStore is what the keyring calls to make a new KEK: with an
// escrow configuration in `store`, GenerateEscrowableKek and AddEscrowedKek;
// without, GenerateKek. Errors as those.
Status GenerateKekForStore(TokenService& token, storage::Store& store, std::string_view kek_id);

}  // namespace strongroom::crypto

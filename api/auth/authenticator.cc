#include "api/auth/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "accounts/accounts.h"
#include "crypto/password_hash.h"

namespace strongroom::api {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::string_view kInvalidCredentials = "invalid credentials";

// DecodeBase64 decodes standard base64 (OpenSSL's decoder) into the arena.
StatusOr<SecretBytes> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) {
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  }
  SR_ASSIGN_OR_RETURN(SecretBytes decoded, SecretBytes::Allocate(text.size() / 4 * 3));
  int n = EVP_DecodeBlock(decoded.RevealMutableSecret().data(),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  decoded.Truncate(static_cast<std::size_t>(n) - padding);
  return decoded;
}

// TokensValidAfter returns the stored cutoff (UNIX micros) before which
// every API token is void, or 0 when none was ever set.
// SECURITY: fails closed. Only a missing row means "no cutoff"; a row that
// fails its MAC (kIntegrityError) or does not parse is an error, because
// reading it as absent would bring back every token the cutoff revoked.
StatusOr<std::int64_t> TokensValidAfter(const storage::ReadTxn& txn) {
  StatusOr<storage::Record> cutoff =
      txn.Get(storage::Table::kSystem, accounts::kTokensValidAfterKey);
  if (!cutoff.has_value()) {
    if (cutoff.error().code() == StatusCode::kNotFound) return 0;
    return std::unexpected(cutoff.error());
  }
  ByteReader reader(cutoff->value);
  StatusOr<std::uint64_t> micros = reader.U64("valid after");
  if (!micros.has_value() || reader.remaining() != 0 ||
      *micros > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::unexpected(
        Status::IntegrityError("stored api-tokens-valid-after is not a u64 time"));
  }
  return static_cast<std::int64_t>(*micros);
}

}  // namespace

std::string_view Principal::KindName() const {
  switch (kind) {
    case Kind::kUser:
      return "user";
    case Kind::kToken:
      return "token";
    case Kind::kService:
      return "service";
    case Kind::kAnonymous:
      break;
  }
  return "anonymous";
}

StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(storage::Store& store,
                                                               const PolicyHolder& policy,
                                                               const Clock& clock,
                                                               AuthenticatorOptions options) {
  SR_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::Allocate(32));
  if (RAND_bytes(key.RevealMutableSecret().data(), 32) != 1) {
    return std::unexpected(Status::Internal("RAND_bytes failed"));
  }
  // SECURITY: without the decoy an unknown user would be answered faster
  // than a known one, so no decoy, no authenticator (fail closed).
  SR_ASSIGN_OR_RETURN(std::string decoy_hash, crypto::DecoyPasswordHash());
  return std::unique_ptr<Authenticator>(new Authenticator(store, policy, clock, options,
                                                          std::move(key), std::move(decoy_hash)));
}

Authenticator::Authenticator(storage::Store& store, const PolicyHolder& policy, const Clock& clock,
                             AuthenticatorOptions options, SecretBytes cache_key,
                             std::string decoy_hash)
    : store_(store),
      policy_(policy),
      clock_(clock),
      options_(options),
      cache_key_(std::move(cache_key)),
      decoy_hash_(std::move(decoy_hash)),
      throttle_(AuthThrottleOptions{options.free_failures_per_user_address,
                                    options.free_failures_per_address, options.max_backoff}) {}

std::string_view AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kNone:
      return "";
    case AuthFailure::kMissingCredentials:
      return "missing_credentials";
    case AuthFailure::kInvalidPassword:
      return "invalid_password";
    case AuthFailure::kInvalidToken:
      return "invalid_token";
    case AuthFailure::kUnsupportedScheme:
      return "unsupported_scheme";
    case AuthFailure::kCertificateWithoutIdentity:
      return "certificate_without_identity";
    case AuthFailure::kThrottled:
      return "throttled";
    case AuthFailure::kMissingCertificate:
      return "missing_certificate";
    case AuthFailure::kCertificateNotAService:
      return "certificate_not_a_service";
  }
  return "";
}

namespace {

// Blame names the caller's failure `why` when `result` failed with
// kUnauthenticated and no failure yet (other codes are not the caller's).
void Blame(AuthResult& result, AuthFailure why) {
  if (!result.has_value() && result.error().failure == AuthFailure::kNone &&
      result.error().code() == StatusCode::kUnauthenticated) {
    result.error().failure = why;
  }
}

// Because is Blame for a StatusOr.
AuthResult Because(StatusOr<Principal> result, AuthFailure why) {
  if (result.has_value()) return std::move(*result);
  const AuthFailure failure =
      result.error().code() == StatusCode::kUnauthenticated ? why : AuthFailure::kNone;
  return std::unexpected(AuthError(std::move(result).error(), failure));
}

}  // namespace

AuthResult Authenticator::Authenticate(const HttpRequest& request, const storage::ReadTxn& txn) {
  const PeerInfo& peer = *request.peer;
  std::optional<std::string> authorization = request.Header("Authorization");
  AuthResult principal = std::unexpected(AuthError(
      Status::Unauthenticated("authentication required"), AuthFailure::kMissingCredentials));
  if (authorization) {
    std::string_view value = TrimOws(*authorization);
    std::size_t space = value.find(' ');
    std::string_view scheme = value.substr(0, space);
    std::string_view credentials =
        space == std::string_view::npos ? "" : TrimOws(value.substr(space));
    if (scheme == "Basic") {
      principal = Basic(credentials, peer.address, txn);
      Blame(principal, AuthFailure::kInvalidPassword);
    } else if (scheme == "Bearer" || scheme == "Key") {
      principal = Because(Token(credentials, txn), AuthFailure::kInvalidToken);
    } else {
      principal =
          std::unexpected(AuthError(Status::Unauthenticated("unsupported authorization scheme"),
                                    AuthFailure::kUnsupportedScheme));
    }
  } else if (peer.certificate) {
    principal =
        Because(Certificate(*peer.certificate, txn), AuthFailure::kCertificateWithoutIdentity);
  }
  if (!principal.has_value()) return principal;
  principal->address = peer.address;
  if (peer.certificate) principal->certificate_fingerprint = peer.certificate->fingerprint_sha256;
  return principal;
}

AuthResult Authenticator::AuthenticateService(const HttpRequest& request) const {
  const PeerInfo& peer = *request.peer;
  if (!peer.certificate) {
    return std::unexpected(AuthError(Status::Unauthenticated("a client certificate is required"),
                                     AuthFailure::kMissingCertificate));
  }
  policies::CertificateIdentity identity = policy_.Get()->IdentifyCertificate(*peer.certificate);
  if (identity.kind != policies::CertificateIdentity::Kind::kService) {
    return std::unexpected(AuthError(
        Status::Unauthenticated(identity.kind == policies::CertificateIdentity::Kind::kUser
                                    ? "certificate is not a service's: users never decrypt"
                                    : "certificate has no identity: " + identity.reason),
        AuthFailure::kCertificateNotAService));
  }
  Principal principal{Principal::Kind::kService, identity.name, false};
  principal.address = peer.address;
  principal.certificate_fingerprint = peer.certificate->fingerprint_sha256;
  return principal;
}

AuthResult Authenticator::Basic(std::string_view encoded, const std::string& address,
                                const storage::ReadTxn& txn) {
  SR_ASSIGN_OR_RETURN(SecretBytes decoded, DecodeBase64(encoded));
  std::string_view text = decoded.RevealSecretAsString();
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  std::string login(text.substr(0, colon));
  SR_ASSIGN_OR_RETURN(SecretBytes password, SecretBytes::CopyFrom(text.substr(colon + 1)));
  return Password(login, password, address, txn);
}

AuthResult Authenticator::AuthenticatePassword(const std::string& login,
                                               const SecretBytes& password,
                                               const std::string& peer_address,
                                               const storage::ReadTxn& txn) {
  AuthResult principal = Password(login, password, peer_address, txn);
  Blame(principal, AuthFailure::kInvalidPassword);
  if (principal.has_value()) principal->address = peer_address;
  return principal;
}

AuthResult Authenticator::Password(const std::string& login, const SecretBytes& password,
                                   const std::string& address, const storage::ReadTxn& txn) {
  if (std::int64_t wait = throttle_.WaitSeconds(login, address); wait > 0) {
    return std::unexpected(
        AuthError(Status::ResourceExhausted("too many failed attempts; retry in " +
                                            std::to_string(wait) + " s"),
                  AuthFailure::kThrottled, std::chrono::seconds(wait)));
  }
  std::uint64_t generation = txn.generation(storage::CacheKind::kCredentials);
  std::string cache_key = CacheKey(login, password.RevealSecretAsString());
  StatusOr<storage::UserRecord> user = accounts::FindUser(txn, login);
  if (user.has_value() && options_.credential_cache_ttl.count() > 0) {
    std::lock_guard lock(mu_);
    auto it = credential_cache_.find(cache_key);
    if (it != credential_cache_.end()) {
      if (it->second.generation == generation && it->second.login == login &&
          SteadyClock::now() < it->second.expires) {
        return Principal{Principal::Kind::kUser, user->login, user->server_admin};
      }
      credential_cache_.erase(it);
    }
  }
  if (!user.has_value() && user.error().code() != StatusCode::kNotFound)
    return std::unexpected(user.error());
  if (checks_in_flight_.fetch_add(1) >= options_.max_concurrent_password_checks) {
    checks_in_flight_.fetch_sub(1);
    return std::unexpected(
        Status::Unavailable("too many password checks in progress; retry later"));
  }
  password_checks_.fetch_add(1, std::memory_order_relaxed);
  StatusOr<bool> verified =
      crypto::VerifyPassword(password, user.has_value() ? user->password_hash : decoy_hash_);
  checks_in_flight_.fetch_sub(1);
  bool ok = user.has_value() && verified.has_value() && *verified;
  if (!ok) {
    throttle_.RecordFailure(login, address);
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  }
  throttle_.RecordSuccess(login, address);
  if (options_.credential_cache_ttl.count() > 0) {
    std::lock_guard lock(mu_);
    if (credential_cache_.size() > 10000) credential_cache_.clear();
    credential_cache_[cache_key] =
        CachedCredential{login, generation, SteadyClock::now() + options_.credential_cache_ttl};
  }
  return Principal{Principal::Kind::kUser, user->login, user->server_admin};
}

StatusOr<Principal> Authenticator::Token(std::string_view presented, const storage::ReadTxn& txn) {
  std::optional<accounts::ParsedToken> parsed = accounts::ParseToken(presented);
  if (!parsed) return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  StatusOr<storage::Record> raw = txn.Get(storage::Table::kTokens, parsed->id);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) {
      return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
    }
    return std::unexpected(raw.error());
  }
  SR_ASSIGN_OR_RETURN(storage::TokenRecord token, storage::DecodeTokenRecord(raw->value));
  if (!accounts::TokenSecretMatches(token, parsed->secret)) {
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  }
  std::int64_t now = UnixMicros(clock_.Now());
  SR_ASSIGN_OR_RETURN(std::int64_t valid_after, TokensValidAfter(txn));
  bool expired = token.expires_micros != 0 && now >= token.expires_micros;
  if (token.revoked_micros != 0 || expired || token.created_micros < valid_after) {
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  }
  StatusOr<storage::UserRecord> owner = accounts::FindUser(txn, token.owner_login);
  // A token older than its owner's account belongs to an earlier user of
  // the same login (deleted and re-created): refuse it.
  if (!owner.has_value() || token.created_micros < owner->created_micros) {
    return std::unexpected(Status::Unauthenticated(std::string(kInvalidCredentials)));
  }
  Principal principal;
  principal.kind = Principal::Kind::kToken;
  principal.name = token.owner_login;
  principal.token_id = token.id;
  principal.token_role = token.role;
  principal.token_namespace = token.namespace_name;
  return principal;
}

StatusOr<Principal> Authenticator::Certificate(const policies::CertificateFacts& facts,
                                               const storage::ReadTxn& txn) {
  policies::CertificateIdentity identity = policy_.Get()->IdentifyCertificate(facts);
  using Kind = policies::CertificateIdentity::Kind;
  if (identity.kind == Kind::kUser) {
    StatusOr<storage::UserRecord> user = accounts::FindUser(txn, identity.name);
    if (!user.has_value())
      return std::unexpected(Status::Unauthenticated("certificate maps to no existing user"));
    return Principal{Principal::Kind::kUser, user->login, user->server_admin};
  }
  if (identity.kind == Kind::kService) {
    return Principal{Principal::Kind::kService, identity.name, false};
  }
  return std::unexpected(
      Status::Unauthenticated("certificate has no identity: " + identity.reason));
}

std::string Authenticator::CacheKey(std::string_view login, std::string_view password) const {
  std::string input(login);
  input.push_back('\0');
  input.append(password);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  auto key = cache_key_.RevealSecret();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(mac), length);
}

}  // namespace strongroom::api

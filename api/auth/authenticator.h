// api/auth/authenticator.h — turns a request's credentials into a Principal
// (SPEC section 4): Basic auth for users (scrypt, at most N checks at once,
// throttled per (user, address) and per address, a short-lived cache of
// verified credentials), API tokens (`Authorization: Bearer` and Sensu's
// `Authorization: Key`), and verified client certificates (a user through a
// fingerprint entry of the identity-mapping file, else a service).
//
// Precedence on management endpoints: an Authorization header, if present,
// is the identity; the certificate is then only recorded.
//
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/auth/auth_throttle.h"
#include "api/auth/policy_holder.h"
#include "api/auth/principal.h"
#include "api/http/http_message.h"
#include "base/clock.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "storage/storage.h"

namespace strongroom::api {

struct AuthenticatorOptions {
  unsigned max_concurrent_password_checks = 2;    // 503 beyond (SPEC 4)
  std::chrono::seconds credential_cache_ttl{60};  // 0 disables the cache
  // Failures allowed per (user, address) before each further attempt must
  // wait, doubling from 1 s up to max_backoff (429 with Retry-After).
  unsigned free_failures_per_user_address = 5;
  // Failures allowed per address within a minute before it must wait.
  unsigned free_failures_per_address = 30;
  std::chrono::seconds max_backoff{60};
};

// AuthFailure says why a caller failed to authenticate, for the audit
// log's coalesced failure records (SPEC section 8). kNone: the failure was
// not the caller's (a store error, too many password checks at once).
enum class AuthFailure {
  kNone,
  kMissingCredentials,          // no Authorization header, no certificate
  kInvalidPassword,             // Basic credentials that do not verify
  kInvalidToken,                // a Bearer/Key token that does not verify
  kUnsupportedScheme,           // an Authorization scheme we do not take
  kCertificateWithoutIdentity,  // a verified certificate naming nobody (or no existing user)
  kThrottled,                   // too many failed attempts: wait `retry_after`
  kMissingCertificate,          // a decrypt without a client certificate
  kCertificateNotAService,      // a decrypt with a certificate that is not a service's
};

// AuthFailureName returns the audit reason of `failure`: "missing_credentials",
// "invalid_password", "invalid_token", "unsupported_scheme",
// "certificate_without_identity", "throttled", "missing_certificate",
// "certificate_not_a_service" ("" for kNone).
std::string_view AuthFailureName(AuthFailure failure);

// AuthError is a failed authentication: the Status the caller is answered
// with (its message is safe to show and uniform whether or not a user
// exists), and why, typed.
struct AuthError {
  Status status;
  AuthFailure failure = AuthFailure::kNone;
  std::chrono::seconds retry_after{0};  // kThrottled only

  // Lets SR_ASSIGN_OR_RETURN pass a StatusOr's error on (failure kNone).
  AuthError(Status error) : status(std::move(error)) {}
  AuthError(Status error, AuthFailure why, std::chrono::seconds wait = std::chrono::seconds(0))
      : status(std::move(error)), failure(why), retry_after(wait) {}
  StatusCode code() const { return status.code(); }
  const std::string& message() const { return status.message(); }
};

using AuthResult = std::expected<Principal, AuthError>;

class Authenticator {
 public:
  static StatusOr<std::unique_ptr<Authenticator>> Create(storage::Store& store,
                                                         const PolicyHolder& policy,
                                                         const Clock& clock,
                                                         AuthenticatorOptions options = {});

  // Authenticate returns the principal of a management request, or an
  // AuthError whose status is: kUnauthenticated (401: no credentials, or
  // wrong ones: one uniform message whether or not the user exists; the
  // failure says which), kUnavailable (503: too many password checks at
  // once), kResourceExhausted with AuthFailure::kThrottled (429; the wait
  // is `retry_after`, and the message "too many failed attempts; retry in
  // N s" is only for the caller to read), kIntegrityError (a stored record
  // failed its MAC). `txn` is the request's read snapshot: caches are
  // checked against its generation counters.
  AuthResult Authenticate(const HttpRequest& request, const storage::ReadTxn& txn);

  // AuthenticatePassword checks a user's name and password exactly as Basic
  // auth does (the same scrypt limit, throttle and cache, shared with it),
  // for the web view's sign-in form (issue 21). `peer_address` is the
  // client's ("ip:port"). Errors as Authenticate; a wrong name or password
  // is kUnauthenticated with AuthFailure::kInvalidPassword.
  AuthResult AuthenticatePassword(const std::string& login, const SecretBytes& password,
                                  const std::string& peer_address, const storage::ReadTxn& txn);

  // AuthenticateService returns the service a decrypt request comes from
  // (SPEC 4 and 6.2): only a verified client certificate that identifies a
  // service counts; an Authorization header is ignored, and a certificate
  // mapped to a user or with no identity is kUnauthenticated
  // (kMissingCertificate or kCertificateNotAService).
  AuthResult AuthenticateService(const HttpRequest& request) const;

  // password_checks counts the scrypt checks made (for tests and metrics).
  std::uint64_t password_checks() const { return password_checks_.load(); }

 private:
  Authenticator(storage::Store& store, const PolicyHolder& policy, const Clock& clock,
                AuthenticatorOptions options, SecretBytes cache_key, std::string decoy_hash);
  AuthResult Basic(std::string_view encoded, const std::string& address,
                   const storage::ReadTxn& txn);
  AuthResult Password(const std::string& login, const SecretBytes& password,
                      const std::string& address, const storage::ReadTxn& txn);
  StatusOr<Principal> Token(std::string_view presented, const storage::ReadTxn& txn);
  StatusOr<Principal> Certificate(const policies::CertificateFacts& facts,
                                  const storage::ReadTxn& txn);
  std::string CacheKey(std::string_view login, std::string_view password) const;

  storage::Store& store_;
  const PolicyHolder& policy_;
  const Clock& clock_;
  const AuthenticatorOptions options_;
  const SecretBytes cache_key_;
  // Checked for unknown users, at the same cost as a real hash: a hash with
  // the current scrypt parameters that no password matches
  // (crypto::DecoyPasswordHash). It costs no scrypt to make, so nothing is
  // computed at start and no check ever waits for it (issue 19).
  // SECURITY: never shown; every unknown-user check runs one full scrypt.
  const std::string decoy_hash_;
  std::atomic<unsigned> checks_in_flight_{0};
  std::atomic<std::uint64_t> password_checks_{0};
  AuthThrottle throttle_;

  struct CachedCredential {
    std::string login;
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point expires{};
  };
  std::mutex mu_;
  std::unordered_map<std::string, CachedCredential> credential_cache_;  // mu_
};

}  // namespace strongroom::api

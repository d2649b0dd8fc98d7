// crypto/token.h — the PKCS#11 token: module loading through p11-kit, token
// selection by RFC 7512 URI, login, and a session pool that survives lost
// sessions and a token that goes away and comes back.
//
// Thread-safety: Token is thread-safe. Calls into the module run under a
// shared lock; re-initialising the module after the token was lost takes
// the exclusive lock, so no call is inside the module while it is finalised.
#pragma once

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace strongroom::crypto {

class TokenSessionPool;

// SessionObjects lists the session objects one Token::RunWithSessionObjects
// operation created, for the Token to destroy when the operation ends. The
// handles are borrowed from the operation's session and die with it.
class SessionObjects {
 public:
  // Add records `object`, created by the operation on its session. Call it
  // as soon as the object exists, before anything that can fail.
  void Add(CK_OBJECT_HANDLE object) { objects_.push_back(object); }

 private:
  friend class Token;
  std::vector<CK_OBJECT_HANDLE> objects_;
};

struct TokenOptions {
  // A PKCS#11 module: a path (contains '/') loaded with p11_kit_module_load,
  // or a module name from p11-kit's configuration (e.g. "softhsm2").
  std::string module;
  // The token, as an RFC 7512 URI parsed by p11-kit, e.g.
  // "pkcs11:token=strongroom". A URI carrying pin-value is refused; a
  // pin-source naming a file is read like pin_file.
  std::string token_uri;
  // Owner-only file holding the user PIN (see pin_file.h). Required unless
  // the URI has pin-source.
  std::string pin_file;
  // Sessions kept open at most. Default 8.
  std::size_t max_sessions = 8;
  // How long a caller waits for a free session. Default 2 s.
  std::chrono::milliseconds acquire_timeout{2000};
  // After a recovery that failed (the token stayed away), calls that would
  // recover again within this time fail at once with kTokenUnavailable
  // instead of re-finding the slot and re-initialising the module: without
  // it every failing call re-initialises the module (measured: ~1,200
  // re-initialisations per second under a light load while the token was
  // away). Default 0 (no back-off); the appliance uses 250 ms.
  std::chrono::milliseconds recovery_backoff{0};
};

// TokenCounters are cumulative, for tests and metrics.
struct TokenCounters {
  std::uint64_t sessions_opened = 0;
  std::uint64_t logins = 0;
  std::uint64_t recoveries = 0;
  std::uint64_t module_reinitialisations = 0;
  std::uint64_t operations = 0;        // Run / RunCreating calls (Probe included)
  std::uint64_t operation_errors = 0;  // of those, the ones that returned an error
  std::uint64_t probes = 0;            // Probe calls (counted in operations too)
};

class Token {
 public:
  // Open loads and initialises the module, finds exactly one token matching
  // the URI, reads the PIN and logs in on a first session. Errors:
  // kInvalidArgument (bad URI, pin-value in the URI, module not found),
  // kPermissionDenied (PIN file checks, wrong PIN), kNotFound (no matching
  // token), kFailedPrecondition (several tokens match), kTokenUnavailable.
  static StatusOr<std::unique_ptr<Token>> Open(const TokenOptions& options);
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Operation runs one PKCS#11 exchange on a logged-in session. It may run
  // twice (a retry after recovery), so it must be safe to repeat.
  using Operation = std::function<CK_RV(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session)>;

  // Run executes `op` on a pooled session. When the session or the token is
  // lost, the pool re-opens (re-finding the slot and re-initialising the
  // module if needed), logs in again and retries once. Returns OK,
  // kTokenUnavailable when the token stays unreachable, or CkrStatus(rv)
  // with `what` as context.
  Status Run(std::string_view what, const Operation& op);
  // RunCreating is Run under the token's object-creation lock: SoftHSM can
  // fail under concurrent creation of token objects.
  Status RunCreating(std::string_view what, const Operation& op);

  // ObjectOperation is an Operation that creates session objects (a
  // transient copy of a key) and lists each in `created`.
  using ObjectOperation = std::function<CK_RV(CK_FUNCTION_LIST* fns, CK_SESSION_HANDLE session,
                                              SessionObjects& created)>;
  // RunWithSessionObjects is Run for an ObjectOperation: when `op` returns,
  // whatever it returns, every object in `created` is destroyed on the same
  // session. Errors as Run; a failed destroy counts as a lost session.
  // SECURITY: a session on which an object could not be destroyed is closed
  // (closing a session destroys its session objects) and never returned
  // to the pool, so key material left in the token cannot outlive the call
  // on a session that later calls reuse.
  Status RunWithSessionObjects(std::string_view what, const ObjectOperation& op);

  // Probe checks that a session can be used now (C_GetSessionInfo), for
  // readiness. kTokenUnavailable when not.
  Status Probe();

  // For tests and diagnostics: the raw function list and current slot.
  CK_FUNCTION_LIST* functions() const { return functions_; }
  CK_SLOT_ID slot() const;
  std::string token_label() const { return token_label_; }
  TokenCounters counters() const;

 private:
  struct Uri;
  Token() = default;
  Status Initialise(const TokenOptions& options);
  Status FindSlot();
  StatusOr<CK_SESSION_HANDLE> OpenLoggedInSession();
  Status Recover(std::uint64_t failed_epoch);
  // RecoverLocked re-opens the slot or re-initialises the module.
  // REQUIRES: recover_mu_ and module_mu_ held (exclusive).
  Status RecoverLocked();
  // RunWithRetry is Run without the operation counters.
  Status RunWithRetry(std::string_view what, const ObjectOperation& op);
  Status RunOnce(std::string_view what, const ObjectOperation& op, bool* retry, bool* recover,
                 std::uint64_t* epoch);

  CK_FUNCTION_LIST** loaded_modules_ = nullptr;  // when loaded by name
  CK_FUNCTION_LIST* functions_ = nullptr;
  bool initialised_ = false;
  std::unique_ptr<Uri> uri_;
  SecretBytes pin_;
  std::string token_label_;
  std::atomic<CK_SLOT_ID> slot_{0};
  std::atomic<bool> slot_valid_{false};
  std::unique_ptr<TokenSessionPool> pool_;
  mutable std::shared_mutex module_mu_;  // shared: calls; exclusive: re-init, closing sessions
  std::mutex recover_mu_;
  std::chrono::milliseconds recovery_backoff_{0};
  // When the last recovery failed; time_point{} once one succeeded.
  // Guarded by recover_mu_.
  std::chrono::steady_clock::time_point last_failed_recovery_{};
  std::mutex create_mu_;
  std::atomic<std::uint64_t> sessions_opened_{0};
  std::atomic<std::uint64_t> logins_{0};
  std::atomic<std::uint64_t> recoveries_{0};
  std::atomic<std::uint64_t> reinitialisations_{0};
  std::atomic<std::uint64_t> operations_{0};
  std::atomic<std::uint64_t> operation_errors_{0};
  std::atomic<std::uint64_t> probes_{0};
};

}  // namespace strongroom::crypto

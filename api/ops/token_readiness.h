// api/ops/token_readiness.h — the token check of GET /readyz, cached
// (private to api/ops).
// Thread-safety: Ready may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/clock.h"
#include "crypto/crypto.h"

namespace strongroom::api {

// TokenReadiness answers whether the token can be used, probing it
// (TokenService::Probe: a PKCS#11 call on the shared session pool, or a
// round trip to `strongroom tokend`) at most once
// per `max_age`.
// SECURITY: /readyz is anonymous; without the cache any caller could keep
// the session pool busy with probes. A failed probe's reason goes to the
// log (once per change), never into a response.
class TokenReadiness {
 public:
  // `token` and `clock` must outlive this object.
  TokenReadiness(crypto::TokenService& token, const Clock& clock,
                 std::chrono::milliseconds max_age = std::chrono::seconds(1))
      : token_(token), clock_(clock), max_age_(max_age) {}

  // Ready returns the last probe's result when it is younger than
  // `max_age` (by `clock`; a clock that went back counts as expired).
  // Otherwise it probes; only one probe runs at a time: while it runs, other
  // callers get the previous result, or wait for it when there is none yet.
  bool Ready();

 private:
  crypto::TokenService& token_;
  const Clock& clock_;
  const std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::condition_variable probed_;
  bool probing_ = false;    // guarded by mutex_
  bool has_result_ = false; // guarded by mutex_
  bool ready_ = false;      // guarded by mutex_
  TimePoint probed_at_;     // guarded by mutex_
};

}  // namespace strongroom::api

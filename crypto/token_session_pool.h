// crypto/token_session_pool.h — a bounded pool of long-lived, logged-in
// PKCS#11 sessions on one slot. Private to crypto/ (Token owns it).
//
// SoftHSM pitfalls (SPEC section 10) shape it: sessions are long-lived (never
// opened and closed per call), and a session is only closed while the caller
// holds the Token's exclusive lock, so the last session is never closed while
// another thread opens one. Thread-safe.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "base/status.h"

namespace strongroom::crypto {

class TokenSessionPool {
 public:
  // OpenFn opens and logs in one session; returns its handle or an error.
  using OpenFn = std::function<StatusOr<CK_SESSION_HANDLE>()>;
  using CloseFn = std::function<void(CK_SESSION_HANDLE)>;

  TokenSessionPool(std::size_t max_sessions, std::chrono::milliseconds acquire_timeout,
                   OpenFn open, CloseFn close);
  ~TokenSessionPool();

  struct Lease {
    CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
    std::uint64_t epoch = 0;
  };

  // Acquire returns an idle session, opens a new one below the cap, or waits
  // up to acquire_timeout (then kUnavailable). Errors of OpenFn pass through.
  StatusOr<Lease> Acquire();
  // Release returns a healthy session. A lease from an older epoch (before
  // DropAll) is discarded instead.
  void Release(const Lease& lease);
  // Discard forgets a session that failed; the caller closes it (or not).
  void Discard(const Lease& lease);
  // DropAll forgets every idle session (returned for closing) and starts a
  // new epoch, so leases handed out before are discarded on return.
  std::vector<CK_SESSION_HANDLE> DropAll();

  std::size_t open_sessions() const;
  // epoch counts DropAll() calls.
  std::uint64_t epoch() const;

 private:
  const std::size_t max_sessions_;
  const std::chrono::milliseconds acquire_timeout_;
  const OpenFn open_fn_;
  const CloseFn close_fn_;
  mutable std::mutex mu_;
  std::condition_variable available_;
  std::vector<CK_SESSION_HANDLE> idle_;  // guarded by mu_
  std::size_t open_ = 0;                 // sessions idle or leased, guarded by mu_
  std::uint64_t epoch_ = 0;              // guarded by mu_
};

}  // namespace strongroom::crypto

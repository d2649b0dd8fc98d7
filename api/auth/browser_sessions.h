// api/auth/browser_sessions.h — the web view's sign-ins (issue 21): a user
// who signs in with name and password through POST /api/ui/session gets a
// session cookie (`sr_session`) that stands for their password on the few
// GET requests the view makes, until it is signed out, idles out, reaches
// its absolute lifetime, or the user is deleted, demoted or given a new
// password. Sessions live in memory only (a restart signs everyone out).
//
// What a session may do is decided elsewhere: the request core accepts the
// cookie only on the read routes that ask for it (api/core/api_context.h,
// BrowserCookie::kAccepted, GET only); everywhere else it is ignored.
//
// SECURITY:
//   - a session token is 256 bits from OpenSSL's RNG, handed out once; the
//     table keeps only its SHA-256, and compares it in constant time;
//   - each session has its own CSRF token, required to sign it out;
//   - the sign-in form's CSRF token (`sr_login_csrf`) is minted here, MAC'd
//     under a per-process key, and must come back both as the cookie and as
//     the X-CSRF-Token header;
//   - a session is re-checked against the user's stored record on every use
//     (same account, same password hash, still Auditor or ServerAdmin), so a
//     change made by the admin API or the CLI ends it at the next request.
//
// Thread-safety: thread-safe (one mutex; no store access under it).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/auth/principal.h"
#include "api/http/http_message.h"
#include "base/clock.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "policies/policies.h"
#include "storage/storage.h"
#include "storage/user_record.h"

namespace strongroom::api {

// The cookies the view uses.
inline constexpr char kSessionCookie[] = "sr_session";
inline constexpr char kLoginCsrfCookie[] = "sr_login_csrf";
// The header that carries a CSRF token back.
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct BrowserSessionOptions {
  // A session not used for this long ends. Default 15 minutes
  // (`[ui] session_idle_minutes`).
  std::chrono::seconds idle_timeout{std::chrono::minutes(15)};
  // A session ends this long after sign-in, used or not. Default 8 hours
  // (`[ui] session_absolute_minutes`).
  std::chrono::seconds absolute_timeout{std::chrono::hours(8)};
  // Sessions kept at most; a sign-in beyond is refused (kUnavailable) once
  // the expired ones are dropped. Default 10,000.
  std::size_t max_sessions = 10000;
  // Sessions one user keeps at most; a further sign-in ends that user's
  // oldest. Default 16.
  std::size_t max_sessions_per_user = 16;
};

// ViewRole is the role a user signs in to the web view with.
enum class ViewRole { kNone, kAuditor, kServerAdmin };

// ViewRoleName: "Auditor", "ServerAdmin" ("" for kNone).
std::string_view ViewRoleName(ViewRole role);

// ViewRoleOf returns the role `user` may sign in with: kServerAdmin for a
// server admin or a user bound to ServerAdmin on "*", else kAuditor for a
// user bound to Auditor on "*", else kNone (a Viewer, an Editor, ...).
// Bindings come from the policy files and the store (`txn`). Errors only
// for unreadable records.
StatusOr<ViewRole> ViewRoleOf(const policies::Policy& policy, const storage::ReadTxn& txn,
                              const storage::UserRecord& user);

// RequestCookie returns the value of cookie `name` that `request` carries,
// or nullopt when it carries none. (Pistache parses the Cookie header into
// the request's cookie jar; it is not among the raw headers.)
std::optional<std::string> RequestCookie(const HttpRequest& request, const std::string& name);

// BrowserSession is what a live session says about its user.
struct BrowserSession {
  std::string login;
  ViewRole role = ViewRole::kNone;
  bool server_admin = false;
  std::string csrf_token;  // required to sign the session out
  TimePoint expires;       // the earlier of the idle and the absolute end
};

// BrowserSessionPrincipal is the Principal a live `session` stands for on a
// request from `peer`: its user (the certificate, if any, only recorded).
Principal BrowserSessionPrincipal(const BrowserSession& session, const PeerInfo& peer);

// IssuedBrowserSession is a new session and its token. SECURITY: the token
// is shown once (the Set-Cookie header) and never logged or recorded.
struct IssuedBrowserSession {
  SecretBytes token;
  BrowserSession session;
};

class BrowserSessions {
 public:
  // Create makes an empty table whose expiry follows `clock` (which must
  // outlive it). kInternal when the RNG fails.
  static StatusOr<std::unique_ptr<BrowserSessions>> Create(const Clock& clock,
                                                           BrowserSessionOptions options = {});

  // SignIn opens a session for `user` (already authenticated, holding
  // `role`). kUnavailable when the table is full of live sessions;
  // kInternal when the RNG fails.
  StatusOr<IssuedBrowserSession> SignIn(const storage::UserRecord& user, ViewRole role);

  // Resume returns the session of `token` after checking that it is live
  // and that its user, read in `txn`, is the same account with the same
  // password and still signs in as Auditor or ServerAdmin; the session's
  // idle time restarts. kUnauthenticated (and the session is ended) when
  // the token is unknown, the session expired, or the user was deleted
  // (or re-created), given a new password or demoted; other codes for an
  // unreadable record (the session is kept).
  StatusOr<BrowserSession> Resume(std::string_view token, const policies::Policy& policy,
                                  const storage::ReadTxn& txn);

  // SignOut ends the session of `token` when `csrf_token` is its CSRF
  // token (compared in constant time). kUnauthenticated for an unknown or
  // expired session; kPermissionDenied for a wrong CSRF token (the session
  // stays).
  Status SignOut(std::string_view token, std::string_view csrf_token);

  // NewLoginCsrfToken returns a fresh token for the sign-in form: 16
  // random bytes and their MAC under this table's key, as hex.
  std::string NewLoginCsrfToken() const;
  // LoginCsrfTokenValid: `header` and `cookie` are the same token (constant
  // time) and it was minted by NewLoginCsrfToken in this process.
  bool LoginCsrfTokenValid(std::string_view header, std::string_view cookie) const;

  // size counts the sessions held (expired ones included until noticed).
  std::size_t size() const;

 private:
  using TokenHash = std::array<std::uint8_t, 32>;
  struct Entry {
    TokenHash token_hash{};
    std::string login;
    std::int64_t user_created_micros = 0;
    TokenHash password_hash_digest{};  // SHA-256 of the stored scrypt hash
    ViewRole role = ViewRole::kNone;
    bool server_admin = false;
    std::string csrf_token;
    TimePoint created, last_used;
  };

  BrowserSessions(const Clock& clock, BrowserSessionOptions options, SecretBytes csrf_key)
      : clock_(clock), options_(options), csrf_key_(std::move(csrf_key)) {}
  // Find returns the entry of `hash` (mu_ held), verified in constant time.
  std::map<TokenHash, Entry>::iterator Find(const TokenHash& hash);
  bool Expired(const Entry& entry, TimePoint now) const;
  TimePoint Expires(const Entry& entry) const;
  // DropExpired removes every expired session (mu_ held).
  void DropExpired(TimePoint now);
  // MakeRoomFor ends `login`'s oldest sessions beyond its allowance and
  // reports whether the table has room (mu_ held).
  bool MakeRoomFor(const std::string& login, TimePoint now);
  std::string LoginCsrfMac(std::string_view nonce_hex) const;

  const Clock& clock_;
  const BrowserSessionOptions options_;
  const SecretBytes csrf_key_;
  mutable std::mutex mu_;
  std::map<TokenHash, Entry> sessions_;  // mu_; keyed by SHA-256(token)
};

}  // namespace strongroom::api

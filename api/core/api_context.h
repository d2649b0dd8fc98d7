// api/core/api_context.h — what every route handler shares (private to api/):
// the engine, the policy, the authenticator, and the helpers that start a
// request (snapshot + authentication) the same way everywhere.
// Thread-safety: the members are thread-safe.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "api/auth/authenticator.h"
#include "api/auth/browser_sessions.h"
#include "api/auth/policy_holder.h"
#include "api/auth/principal.h"
#include "api/core/api_error.h"
#include "api/core/audit_scope.h"
#include "api/core/cluster_probe.h"
#include "api/core/errors.h"
#include "api/http/router.h"
#include "api/wire/list_cursor.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace strongroom::api {

class ApiMetrics;

struct ApiContext {
  storage::Store& store;
  crypto::Keyring& keyring;
  crypto::TokenService& token;
  PolicyHolder& policy;
  Authenticator& authenticator;
  audit::AuditLog& audit;
  const Clock& clock;
  ListCursorCodec cursors;
  bool memory_locked = true;
  std::string listen_address;
  // Dapr bulk reads answer 413 beyond this many secrets (SPEC 6.2).
  std::size_t max_bulk_secrets = 500;
  // The metrics (api_metrics.h) the routes count into and /metrics shows.
  ApiMetrics* metrics = nullptr;
  // GET /api/admin/settings answers this (ApiOptions::settings_json).
  std::string settings_json = "{}";
  // The web view's sign-ins (api/auth/browser_sessions.h); null: none.
  BrowserSessions* browser_sessions = nullptr;
  // Cluster mode (issue 18): the replica's state; empty in single-node mode.
  ClusterProbe cluster;
};

// BrowserCookie says whether a route accepts the web view's session cookie
// (`sr_session`) as its caller's identity. Only the GET routes the view
// reads through ask for kAccepted (the auditor API, the key inventory and
// GET /api/ui/session); everywhere else the cookie is ignored, so it can
// never carry a write, an admin action or a decrypt.
enum class BrowserCookie { kIgnored, kAccepted };

// StaleReplica says whether a request starts on a node whose replica is past
// max_staleness (cluster mode): kRefused (503, Retry-After) for everything
// that reads or writes the store's data; kAllowed only for /metrics, so the
// operator can read why the node is not ready.
enum class StaleReplica { kRefused, kAllowed };

// Session is an authenticated request: its snapshot and its principal.
struct Session {
  storage::ReadTxn txn;
  Principal principal;
  std::shared_ptr<const policies::Policy> policy;
};

// StartSession opens the request's snapshot and authenticates it; on
// failure returns the error to answer: kUnauthorized (with the Basic
// challenge), kTooManyRequests (Retry-After: the throttle's wait),
// kServiceUnavailable, kInternalError. With a `scope`, it records the
// actor, or why authentication failed (AuthFailureName).
// With `cookie` kAccepted, a GET request without an Authorization header
// that carries an `sr_session` cookie is the session's user when the
// session is live (BrowserSessions::Resume); a dead session falls back to
// the client certificate if there is one, else is kUnauthorized without
// the Basic challenge (a browser would prompt for a password), recorded
// as the failure "invalid_session".
ApiOr<Session> StartSession(ApiContext& context, const HttpRequest& request,
                            AuditScope* scope = nullptr,
                            BrowserCookie cookie = BrowserCookie::kIgnored,
                            StaleReplica stale = StaleReplica::kRefused);

// StartServiceSession is StartSession for the decrypt endpoints: the
// principal is the service of the verified client certificate
// (Authenticator::AuthenticateService), else kUnauthorized (no challenge:
// a password never decrypts).
ApiOr<Session> StartServiceSession(ApiContext& context, const HttpRequest& request,
                                   AuditScope& scope);

// StartAdminSession is StartSession for /api/admin/* (SPEC 6.4): only a
// user (Basic auth, or a client certificate mapped to a user) holding
// `action` (from policies/actions.cc) on every namespace passes. API tokens
// and services get kForbidden whatever their grants, as the seed's admin
// API works only for server admins signed in as themselves.
// `cookie` as for StartSession.
ApiOr<Session> StartAdminSession(ApiContext& context, const HttpRequest& request, AuditScope& scope,
                                 std::string_view action,
                                 BrowserCookie cookie = BrowserCookie::kIgnored);

// NamespacedSession is a request on a namespaced resource
// (".../namespaces/:ns/<kind>[/:name]") past authentication, path
// validation and the permission check of its action.
struct NamespacedSession {
  Session session;
  std::string ns, name;
};

// NamespacedAccess says what StartNamespaced checks.
struct NamespacedAccess {
  std::string_view action;        // the permission checked
  std::string_view audit_action;  // the action recorded; empty: `action`
  std::string_view kind;          // the audit record's resource kind
  bool with_name = false;         // an item (":name") rather than the collection
  // validate_name checks ":name" (kInvalidArgument naming `field`).
  Status (*validate_name)(std::string_view name, std::string_view field) = nullptr;
};

// StartNamespaced describes the request for the audit, authenticates it
// (before anything else: a request refused earlier would be an audit record
// anyone could make), validates ":ns" and ":name" (kBadRequest), and
// checks the action: on the named item, or (collection) on at least one
// name of the namespace, so a caller without any grant there gets
// kForbidden before its body is looked at.
ApiOr<NamespacedSession> StartNamespaced(ApiContext& context, const HttpRequest& request,
                                         AuditScope& scope, const NamespacedAccess& access);

// Check returns kForbidden when `principal` may not do `access`, nullopt
// when it may (or kInternalError when a record failed its check).
std::optional<ApiError> Check(ApiContext& context, const HttpRequest& request,
                              const Session& session, const policies::AccessRequest& access);

// QueryParam returns the percent-decoded query parameter `name` (nullopt
// when absent); kInvalidArgument for a bad escape.
StatusOr<std::optional<std::string>> QueryParam(const HttpRequest& request,
                                                const std::string& name);

// ListLimit reads a list's `limit` parameter: absent or 0 gives `max`, a
// larger one is cut to `max`; kInvalidArgument unless a non-negative integer.
StatusOr<std::size_t> ListLimit(const HttpRequest& request, std::size_t max);

// ListAfter reads a list's `continue` parameter for `kind` in `ns`: ""
// when absent or empty, else the last name of the previous page;
// kInvalidArgument for a bad escape or a cursor that is not ours.
StatusOr<std::string> ListAfter(const ApiContext& context, const HttpRequest& request,
                                std::string_view kind, std::string_view ns);

// RequireJson returns kUnsupportedMediaType unless the request's
// Content-Type is application/json (parameters such as charset allowed).
std::optional<ApiError> RequireJson(const HttpRequest& request);

}  // namespace strongroom::api

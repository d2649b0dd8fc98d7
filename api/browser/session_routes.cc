// The web view's sessions (issue 21): GET /api/ui/session says who is
// signed in (or hands out the sign-in form's CSRF token), POST signs in
// with name and password, DELETE signs out. Every sign-in and sign-out is
// audited with its outcome; failures before anyone is known (a wrong
// password, a missing CSRF token, a malformed body) are coalesced per
// client and reason like every authentication failure (SPEC 8), so
// unauthenticated traffic cannot fill the log.
#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "api/browser/browser_routes.h"
#include "api/core/api_context.h"
#include "api/wire/json_fields.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

// The cookies' attributes: never readable by script, never sent over
// plain HTTP or from another site.
constexpr std::string_view kCookieAttributes = "; HttpOnly; Secure; SameSite=Strict";

std::string SessionCookie(std::string_view token) {
  return std::string(kSessionCookie) + "=" + std::string(token) + "; Path=/" +
         std::string(kCookieAttributes);
}

std::string ClearedSessionCookie() {
  return std::string(kSessionCookie) + "=; Path=/; Max-Age=0" + std::string(kCookieAttributes);
}

// SignedIn is the body for a signed-in browser; `via` is "session" or
// "certificate" (a mapped client certificate: no CSRF token, no expiry,
// nothing to sign out).
HttpResponse SignedIn(const BrowserSession& session, std::string_view via) {
  json body{{"signed_in", true},
            {"user", session.login},
            {"role", ViewRoleName(session.role)},
            {"via", via}};
  if (via == "session") {
    body["csrf_token"] = session.csrf_token;
    body["expires"] = Rfc3339Micros(session.expires);
  }
  return JsonResponse(Success::kOk, body.dump());
}

// SignedOut answers a browser that is not signed in with a fresh CSRF
// token for the sign-in form, as the body and as its cookie.
ApiResult SignedOut(ApiContext& context, bool clear_session_cookie) {
  const std::string csrf_token = context.browser_sessions->NewLoginCsrfToken();
  if (csrf_token.empty()) return ApiError::Unavailable("no CSRF token could be made; retry later");
  HttpResponse response =
      JsonResponse(Success::kOk, json{{"signed_in", false}, {"csrf_token", csrf_token}}.dump());
  if (clear_session_cookie) response.headers.emplace_back("Set-Cookie", ClearedSessionCookie());
  response.headers.emplace_back("Set-Cookie", std::string(kLoginCsrfCookie) + "=" + csrf_token +
                                                  "; Path=/api/ui/session" +
                                                  std::string(kCookieAttributes));
  return response;
}

// CertificateUser returns the view's session for a browser presenting a
// client certificate mapped to an Auditor or ServerAdmin user (no
// Authorization header), else nullopt.
StatusOr<std::optional<BrowserSession>> CertificateUser(ApiContext& context,
                                                        const HttpRequest& request,
                                                        const storage::ReadTxn& txn,
                                                        const policies::Policy& policy) {
  if (!request.peer->certificate || request.Header("Authorization")) return std::nullopt;
  AuthResult principal = context.authenticator.Authenticate(request, txn);
  if (!principal.has_value() || principal->kind != Principal::Kind::kUser) return std::nullopt;
  SR_ASSIGN_OR_RETURN(storage::UserRecord user, accounts::FindUser(txn, principal->name));
  SR_ASSIGN_OR_RETURN(ViewRole role, ViewRoleOf(policy, txn, user));
  if (role == ViewRole::kNone) return std::nullopt;
  return BrowserSession{user.login, role, user.server_admin, "", {}};
}

ApiResult WhoIsSignedIn(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, context.store.BeginRead());
  std::shared_ptr<const policies::Policy> policy = context.policy.Get();
  const std::optional<std::string> token = RequestCookie(request, kSessionCookie);
  bool dead_session = false;
  if (token) {
    StatusOr<BrowserSession> session = context.browser_sessions->Resume(*token, *policy, txn);
    if (session.has_value()) {
      scope.Describe("ui.session.read", "", "ui.session", "");
      scope.SetActor(BrowserSessionPrincipal(*session, *request.peer));
      return SignedIn(*session, "session");
    }
    if (session.error().code() != StatusCode::kUnauthenticated) return session.error();
    dead_session = true;
  }
  SR_ASSIGN_OR_RETURN(std::optional<BrowserSession> by_certificate,
                      CertificateUser(context, request, txn, *policy));
  if (by_certificate) {
    scope.Describe("ui.session.read", "", "ui.session", "");
    scope.SetActor(BrowserSessionPrincipal(*by_certificate, *request.peer));
    return SignedIn(*by_certificate, "certificate");
  }
  // Not audited one by one: a browser that is signed out holds no data.
  if (dead_session) scope.authentication_failure = "invalid_session";
  return SignedOut(context, dead_session);
}

// Credentials is the sign-in form's body. SECURITY: `password` never
// leaves the arena except into the scrypt check.
struct Credentials {
  std::string login;
  SecretBytes password;
};

StatusOr<Credentials> ParseCredentials(const HttpRequest& request) {
  SR_ASSIGN_OR_RETURN(json body, ParseJsonObject(request.body(), {"user", "password"}));
  if (!body.contains("user") || !body["user"].is_string() || !body.contains("password") ||
      !body["password"].is_string()) {
    return std::unexpected(
        Status::InvalidArgument("body must be {\"user\": string, \"password\": string}"));
  }
  std::string& password = body["password"].get_ref<std::string&>();
  StatusOr<SecretBytes> secret = SecretBytes::CopyFrom(std::string_view(password));
  OPENSSL_cleanse(password.data(), password.size());
  if (!secret.has_value()) return std::unexpected(secret.error());
  return Credentials{body["user"].get<std::string>(), std::move(*secret)};
}

ApiResult SignIn(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("ui.session.create", "", "ui.session", "");
  std::optional<std::string> csrf_header = request.Header(std::string(kCsrfHeader));
  const std::optional<std::string> csrf_cookie = RequestCookie(request, kLoginCsrfCookie);
  if (!csrf_header || !csrf_cookie ||
      !context.browser_sessions->LoginCsrfTokenValid(*csrf_header, *csrf_cookie)) {
    scope.authentication_failure = "invalid_csrf_token";
    return ApiError::Forbidden(
        "missing or wrong X-CSRF-Token: send the csrf_token of GET /api/ui/session");
  }
  if (std::optional<ApiError> wrong_type = RequireJson(request)) {
    scope.authentication_failure = "invalid_request";
    return *wrong_type;
  }
  StatusOr<Credentials> credentials = ParseCredentials(request);
  if (!credentials.has_value()) {
    scope.authentication_failure = "invalid_request";
    return ApiError::FromStatus(credentials.error());
  }
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, context.store.BeginRead());
  AuthResult principal = context.authenticator.AuthenticatePassword(
      credentials->login, credentials->password, request.peer->address, txn);
  if (!principal.has_value()) {
    const AuthError& error = principal.error();
    if (error.failure != AuthFailure::kNone) {
      scope.authentication_failure = std::string(AuthFailureName(error.failure));
    }
    if (error.failure == AuthFailure::kThrottled) {
      return ApiError::TooManyRequests(error.message(), error.retry_after);
    }
    return ApiError::FromStatus(error.status);  // 401 without a Basic challenge; 503
  }
  principal->certificate_fingerprint =
      request.peer->certificate ? request.peer->certificate->fingerprint_sha256 : "";
  scope.SetActor(*principal);
  SR_ASSIGN_OR_RETURN(storage::UserRecord user, accounts::FindUser(txn, principal->name));
  std::shared_ptr<const policies::Policy> policy = context.policy.Get();
  SR_ASSIGN_OR_RETURN(ViewRole role, ViewRoleOf(*policy, txn, user));
  if (role == ViewRole::kNone) {
    return ApiError::Forbidden("only Auditor and ServerAdmin users may sign in to the web view")
        .WithAuditReason("not_auditor_or_server_admin");
  }
  SR_ASSIGN_OR_RETURN(IssuedBrowserSession issued, context.browser_sessions->SignIn(user, role));
  HttpResponse response = SignedIn(issued.session, "session");
  response.headers.emplace_back("Set-Cookie", SessionCookie(issued.token.RevealSecretAsString()));
  return response;
}

ApiResult SignOut(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("ui.session.delete", "", "ui.session", "");
  const std::optional<std::string> token = RequestCookie(request, kSessionCookie);
  if (!token) {
    scope.authentication_failure = "missing_credentials";
    return ApiError::Unauthorized("no session to sign out");
  }
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, context.store.BeginRead());
  StatusOr<BrowserSession> session =
      context.browser_sessions->Resume(*token, *context.policy.Get(), txn);
  if (!session.has_value()) {
    if (session.error().code() != StatusCode::kUnauthenticated) return session.error();
    scope.authentication_failure = "invalid_session";
    return ApiError::Unauthorized(session.error().message());
  }
  scope.SetActor(BrowserSessionPrincipal(*session, *request.peer));
  Status signed_out = context.browser_sessions->SignOut(
      *token, request.Header(std::string(kCsrfHeader)).value_or(""));
  if (signed_out.code() == StatusCode::kPermissionDenied) {
    return ApiError::Forbidden(signed_out.message()).WithAuditReason("invalid_csrf_token");
  }
  if (!signed_out.ok()) return ApiError::Unauthorized(signed_out.message());
  HttpResponse response = EmptyResponse(Success::kNoContent);
  response.headers.emplace_back("Set-Cookie", ClearedSessionCookie());
  return response;
}

}  // namespace

void AddBrowserSessionRoutes(Router& router, ApiContext& context) {
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  // Blocking: a store read, and a password check (scrypt) to sign in.
  router.Add(Method::Get, "/api/ui/session", Execution::kBlocking, audited(WhoIsSignedIn));
  router.Add(Method::Post, "/api/ui/session", Execution::kBlocking, audited(SignIn));
  router.Add(Method::Delete, "/api/ui/session", Execution::kBlocking, audited(SignOut));
}

}  // namespace strongroom::api

#include "api/core/api_context.h"

#include <algorithm>
#include <cstdlib>

#include "api/auth/authorizer.h"
#include "api/wire/k8s_names.h"
#include "api/wire/query_string.h"

namespace strongroom::api {

namespace {

std::unexpected<ApiError> Fail(ApiError error) { return std::unexpected(std::move(error)); }
std::unexpected<ApiError> Fail(const Status& status) {
  return std::unexpected(ApiError::FromStatus(status));
}

// ResumeBrowserSession is StartSession's cookie path: nullopt when the
// request is not the web view's (not a GET, an Authorization header, no
// session cookie) or its session is dead and a client certificate may
// speak instead; else the session's user, or the 401 to answer.
std::optional<ApiOr<Session>> ResumeBrowserSession(ApiContext& context, const HttpRequest& request,
                                                   storage::ReadTxn& txn, AuditScope* scope) {
  if (context.browser_sessions == nullptr || request.method() != Pistache::Http::Method::Get ||
      request.Header("Authorization")) {
    return std::nullopt;
  }
  std::optional<std::string> token = RequestCookie(request, kSessionCookie);
  if (!token) return std::nullopt;
  std::shared_ptr<const policies::Policy> policy = context.policy.Get();
  StatusOr<BrowserSession> session = context.browser_sessions->Resume(*token, *policy, txn);
  if (!session.has_value()) {
    if (session.error().code() != StatusCode::kUnauthenticated) return Fail(session.error());
    if (request.peer->certificate) return std::nullopt;
    if (scope != nullptr) scope->authentication_failure = "invalid_session";
    return Fail(ApiError::Unauthorized(session.error().message()));
  }
  Principal principal = BrowserSessionPrincipal(*session, *request.peer);
  if (scope != nullptr) scope->SetActor(principal);
  return Session{std::move(txn), std::move(principal), std::move(policy)};
}

// RefuseStale is the 503 of a node whose replica has not reached etcd for
// longer than max_staleness (cluster mode; nullopt otherwise).
// SECURITY: a stale replica may miss a revocation made on another node.
std::optional<ApiError> RefuseStale(const ApiContext& context) {
  if (context.cluster.Fresh()) return std::nullopt;
  return ApiError::FromStatus(
             Status::Unavailable("this node has not reached the cluster's store (etcd) for "
                                 "longer than its max_staleness; try another node"))
      .RetryAfter(std::chrono::seconds(5));
}

}  // namespace

ApiOr<Session> StartSession(ApiContext& context, const HttpRequest& request, AuditScope* scope,
                            BrowserCookie cookie, StaleReplica stale_replica) {
  if (stale_replica == StaleReplica::kRefused) {
    if (std::optional<ApiError> stale = RefuseStale(context)) return Fail(std::move(*stale));
  }
  StatusOr<storage::ReadTxn> txn = context.store.BeginRead();
  if (!txn.has_value()) return Fail(txn.error());
  if (cookie == BrowserCookie::kAccepted) {
    std::optional<ApiOr<Session>> resumed = ResumeBrowserSession(context, request, *txn, scope);
    if (resumed) return std::move(*resumed);
  }
  AuthResult principal = context.authenticator.Authenticate(request, *txn);
  if (!principal.has_value()) {
    const AuthError& error = principal.error();
    if (scope != nullptr && error.failure != AuthFailure::kNone) {
      scope->authentication_failure = std::string(AuthFailureName(error.failure));
    }
    if (error.failure == AuthFailure::kThrottled) {
      return Fail(ApiError::TooManyRequests(error.message(), error.retry_after));
    }
    ApiError answer = ApiError::FromStatus(error.status);
    if (answer.reason == ApiReason::kUnauthorized) answer.basic_challenge = true;
    return Fail(std::move(answer));
  }
  if (scope != nullptr) scope->SetActor(*principal);
  return Session{std::move(*txn), std::move(*principal), context.policy.Get()};
}

ApiOr<Session> StartServiceSession(ApiContext& context, const HttpRequest& request,
                                   AuditScope& scope) {
  AuthResult principal = context.authenticator.AuthenticateService(request);
  if (!principal.has_value()) {
    scope.authentication_failure = std::string(AuthFailureName(principal.error().failure));
    return Fail(principal.error().status);
  }
  scope.SetActor(*principal);
  if (std::optional<ApiError> stale = RefuseStale(context)) return Fail(std::move(*stale));
  StatusOr<storage::ReadTxn> txn = context.store.BeginRead();
  if (!txn.has_value()) return Fail(txn.error());
  return Session{std::move(*txn), std::move(*principal), context.policy.Get()};
}

ApiOr<Session> StartAdminSession(ApiContext& context, const HttpRequest& request, AuditScope& scope,
                                 std::string_view action, BrowserCookie cookie) {
  ApiOr<Session> started = StartSession(context, request, &scope, cookie);
  if (!started.has_value()) return started;
  if (started->principal.kind == Principal::Kind::kToken) {
    return Fail(ApiError::Forbidden("API tokens may not use /api/admin endpoints"));
  }
  if (started->principal.kind != Principal::Kind::kUser) {
    return Fail(ApiError::Forbidden("only users may use /api/admin endpoints"));
  }
  if (auto denied = Check(context, request, *started, {action, "*", ""})) return Fail(*denied);
  return started;
}

ApiOr<NamespacedSession> StartNamespaced(ApiContext& context, const HttpRequest& request,
                                         AuditScope& scope, const NamespacedAccess& access) {
  const std::string_view ns = request.Param("ns");
  const std::string_view name = access.with_name ? request.Param("name") : "";
  scope.Describe(access.audit_action.empty() ? access.action : access.audit_action, ns, access.kind,
                 name);
  ApiOr<Session> started = StartSession(context, request, &scope);
  if (!started.has_value()) return Fail(started.error());
  if (Status valid = ValidateNamespaceName(ns); !valid.ok()) {
    return Fail(ApiError::BadRequest(valid.message()));
  }
  if (access.with_name) {
    if (Status valid = access.validate_name(name, "name"); !valid.ok()) {
      return Fail(ApiError::BadRequest(valid.message()));
    }
  }
  NamespacedSession begun{std::move(*started), std::string(ns), std::string(request.Param("name"))};
  if (access.with_name) {
    if (auto denied =
            Check(context, request, begun.session, {access.action, begun.ns, begun.name})) {
      return Fail(*denied);
    }
    return begun;
  }
  StatusOr<bool> may = AuthorizeSomeName(*begun.session.policy, begun.session.txn,
                                         begun.session.principal, access.action, begun.ns);
  if (!may.has_value()) return Fail(may.error());
  if (!*may) return Fail(*Check(context, request, begun.session, {access.action, begun.ns, ""}));
  return begun;
}

std::optional<ApiError> Check(ApiContext& context, const HttpRequest& request,
                              const Session& session, const policies::AccessRequest& access) {
  (void)context;
  (void)request;
  StatusOr<bool> allowed = Authorize(*session.policy, session.txn, session.principal, access);
  if (!allowed.has_value()) return ApiError::FromStatus(allowed.error());
  if (*allowed) return std::nullopt;
  return ApiError::Forbidden(std::string(session.principal.KindName()) + " '" +
                             session.principal.name + "' may not " + std::string(access.action) +
                             " in namespace '" + std::string(access.namespace_name) + "'");
}

StatusOr<std::optional<std::string>> QueryParam(const HttpRequest& request,
                                                const std::string& name) {
  std::optional<std::string> raw = request.message.query().get(name);
  if (!raw) return std::optional<std::string>();
  SR_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(*raw));
  return std::optional<std::string>(std::move(decoded));
}

StatusOr<std::size_t> ListLimit(const HttpRequest& request, std::size_t max) {
  SR_ASSIGN_OR_RETURN(std::optional<std::string> text, QueryParam(request, "limit"));
  if (!text) return max;
  char* end = nullptr;
  long long parsed = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || parsed < 0) {
    return std::unexpected(Status::InvalidArgument("limit must be a non-negative integer"));
  }
  if (parsed == 0) return max;
  return std::min<std::size_t>(static_cast<std::size_t>(parsed), max);
}

StatusOr<std::string> ListAfter(const ApiContext& context, const HttpRequest& request,
                                std::string_view kind, std::string_view ns) {
  SR_ASSIGN_OR_RETURN(std::optional<std::string> text, QueryParam(request, "continue"));
  if (!text || text->empty()) return std::string();
  return context.cursors.Decode(*text, kind, ns);
}

std::optional<ApiError> RequireJson(const HttpRequest& request) {
  std::optional<std::string> type = request.Header("Content-Type");
  if (type) {
    std::string_view media = *type;
    media = media.substr(0, media.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    std::string lower(media);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "application/json") return std::nullopt;
  }
  return ApiError::UnsupportedMediaType("Content-Type must be application/json");
}

}  // namespace strongroom::api

#include "api/core/api_context.h"

#include <algorithm>
#include <cstdlib>

#include "api/auth/authorizer.h"
#include "api/wire/k8s_names.h"
#include "api/wire/query_string.h"

namespace strongroom::api {

std::variant<Session, HttpResponse> StartSession(ApiContext& context, const HttpRequest& request,
                                                 AuditScope* scope) {
  StatusOr<storage::ReadTxn> txn = context.store.BeginRead();
  if (!txn.has_value()) return ErrorFromStatus(request.path, txn.error(), request.request_id);
  StatusOr<Principal> principal = context.authenticator.Authenticate(request, *txn);
  if (principal.has_value() && scope != nullptr) scope->SetActor(*principal);
  if (!principal.has_value()) {
    const Status& error = principal.error();
    if (scope != nullptr && (error.code() == StatusCode::kUnauthenticated ||
                             error.code() == StatusCode::kResourceExhausted)) {
      scope->authentication_failure = AuthenticationFailureReason(request, error);
    }
    if (error.code() == StatusCode::kResourceExhausted) {
      HttpResponse throttled = ErrorResponse(request.path, 429, error.message());
      // The authenticator's message ends "retry in N s" (api/auth/authenticator.h).
      std::string seconds = "1";
      if (std::size_t at = error.message().rfind("retry in "); at != std::string::npos) {
        seconds = std::to_string(
            std::max(1L, std::strtol(error.message().c_str() + at + 9, nullptr, 10)));
      }
      throttled.headers.emplace_back("Retry-After", seconds);
      return throttled;
    }
    HttpResponse response = ErrorFromStatus(request.path, error, request.request_id);
    if (response.status == 401) {
      response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"strongroom\"");
    }
    return response;
  }
  return Session{std::move(*txn), std::move(*principal), context.policy.Get()};
}

std::variant<Session, HttpResponse> StartServiceSession(ApiContext& context,
                                                        const HttpRequest& request,
                                                        AuditScope& scope) {
  StatusOr<Principal> principal = context.authenticator.AuthenticateService(request);
  if (!principal.has_value()) {
    scope.authentication_failure =
        request.peer->certificate ? "certificate_not_a_service" : "missing_certificate";
    HttpResponse response = ErrorFromStatus(request.path, principal.error(), request.request_id);
    return response;
  }
  scope.SetActor(*principal);
  StatusOr<storage::ReadTxn> txn = context.store.BeginRead();
  if (!txn.has_value()) return ErrorFromStatus(request.path, txn.error(), request.request_id);
  return Session{std::move(*txn), std::move(*principal), context.policy.Get()};
}

std::variant<Session, HttpResponse> StartAdminSession(ApiContext& context,
                                                      const HttpRequest& request, AuditScope& scope,
                                                      std::string_view action) {
  auto started = StartSession(context, request, &scope);
  if (std::holds_alternative<HttpResponse>(started)) return started;
  Session& session = std::get<Session>(started);
  if (session.principal.kind == Principal::Kind::kToken) {
    return ErrorResponse(request.path, 403, "API tokens may not use /api/admin endpoints");
  }
  if (session.principal.kind != Principal::Kind::kUser) {
    return ErrorResponse(request.path, 403, "only users may use /api/admin endpoints");
  }
  if (auto denied = Check(context, request, session, {action, "*", ""})) return *denied;
  return started;
}

std::variant<NamespacedSession, HttpResponse> StartNamespaced(ApiContext& context,
                                                              const HttpRequest& request,
                                                              AuditScope& scope,
                                                              const NamespacedAccess& access) {
  const std::string_view ns = request.Param("ns");
  const std::string_view name = access.with_name ? request.Param("name") : "";
  scope.Describe(access.audit_action.empty() ? access.action : access.audit_action, ns, access.kind,
                 name);
  auto started = StartSession(context, request, &scope);
  if (auto* response = std::get_if<HttpResponse>(&started)) return *response;
  if (Status valid = ValidateNamespaceName(ns); !valid.ok()) {
    return ErrorResponse(request.path, 400, valid.message());
  }
  if (access.with_name) {
    if (Status valid = access.validate_name(name, "name"); !valid.ok()) {
      return ErrorResponse(request.path, 400, valid.message());
    }
  }
  NamespacedSession begun{std::move(std::get<Session>(started)), std::string(ns),
                          std::string(request.Param("name"))};
  if (access.with_name) {
    if (auto denied =
            Check(context, request, begun.session, {access.action, begun.ns, begun.name})) {
      return *denied;
    }
    return begun;
  }
  StatusOr<bool> may = AuthorizeSomeName(*begun.session.policy, begun.session.txn,
                                         begun.session.principal, access.action, begun.ns);
  if (!may.has_value()) return ErrorFromStatus(request.path, may.error(), request.request_id);
  if (!*may) return *Check(context, request, begun.session, {access.action, begun.ns, ""});
  return begun;
}

std::optional<HttpResponse> Check(ApiContext& context, const HttpRequest& request,
                                  const Session& session, const policies::AccessRequest& access) {
  (void)context;
  StatusOr<bool> allowed = Authorize(*session.policy, session.txn, session.principal, access);
  if (!allowed.has_value())
    return ErrorFromStatus(request.path, allowed.error(), request.request_id);
  if (*allowed) return std::nullopt;
  return ErrorResponse(request.path, 403,
                       std::string(session.principal.KindName()) + " '" + session.principal.name +
                           "' may not " + std::string(access.action) + " in namespace '" +
                           std::string(access.namespace_name) + "'");
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

std::optional<HttpResponse> RequireJson(const HttpRequest& request) {
  std::optional<std::string> type = request.Header("Content-Type");
  if (type) {
    std::string_view media = *type;
    media = media.substr(0, media.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    std::string lower(media);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "application/json") return std::nullopt;
  }
  return ErrorResponse(request.path, 415, "Content-Type must be application/json");
}

}  // namespace strongroom::api

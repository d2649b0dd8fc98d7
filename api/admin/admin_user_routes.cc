// Users, passwords, server-admin rights and API tokens of the Grafana admin
// API (SPEC 6.4; the seed's "Global Users", "Password for User",
// "Permissions", "Auth tokens for User", "Revoke auth token for User" and
// "Logout User"), server admins only (StartAdminSession). Each route checks
// its own action from policies/actions.cc and is audited under that action
// with the target user as the resource.
//
// SECURITY: a password is copied out of the request body into locked memory
// (SecretBytes) and the document's copy is wiped; it never reaches a
// response, an audit record or a log. Every store write is made under the
// request's own unique tag (ExpectAuditedWrite), so the audit log's
// pre-commit hook records it as this request's record before LMDB commits.
// Changes take effect on the next request: accounts/accounts.cc bumps the cache
// generations the authenticator and authorizer check.
#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "api/admin/admin_routes.h"
#include "api/core/api_context.h"
#include "api/wire/json_fields.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using Pistache::Http::Method;

constexpr std::string_view kKind = "users";
constexpr std::string_view kUsers = "/api/admin/users";
constexpr std::string_view kUser = "/api/admin/users/:id";

// Done is the seed's answer to a change: 200 {"message": ...}.
HttpResponse Done(std::string_view message) {
  return JsonResponse(Success::kOk, json{{"message", message}}.dump());
}

// TakePassword moves the string member `name` of `document` into locked
// memory and wipes the document's copy. kInvalidArgument when missing or
// not a string (the message never holds the value).
StatusOr<SecretBytes> TakePassword(json& document, const std::string& name) {
  auto it = document.find(name);
  if (it == document.end() || !it->is_string()) {
    return std::unexpected(Status::InvalidArgument(name + " is required and must be a string"));
  }
  std::string& text = it->get_ref<std::string&>();
  StatusOr<SecretBytes> password = SecretBytes::CopyFrom(text);
  OPENSSL_cleanse(text.data(), text.size());
  return password;
}

// Target is an admin request on the user of the path's `:id`.
struct Target {
  Session session;
  storage::UserRecord user;
};

// BeginOnUser describes the request (`action` on the user), admits server
// admins holding `action`, and finds the user of `:id` (404 when none).
// The audit record names the user by login once it is known.
ApiOr<Target> BeginOnUser(ApiContext& context, HttpRequest& request, AuditScope& scope,
                          std::string_view action) {
  scope.Describe(action, "", kKind, request.Param("id"));
  auto started = StartAdminSession(context, request, scope, action);
  if (!started.has_value()) return std::unexpected(started.error());
  Session& session = *started;
  StatusOr<storage::UserRecord> user = accounts::FindUserById(session.txn, request.Param("id"));
  if (!user.has_value()) {
    if (user.error().code() == StatusCode::kNotFound) {
      return std::unexpected(ApiError::NotFound("user not found"));
    }
    return std::unexpected(ApiError::FromStatus(user.error()));
  }
  scope.event.resource.name = user->login;
  return Target{std::move(session), std::move(*user)};
}

ApiResult CreateUserRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  scope.Describe("users:create", "", kKind, "");
  auto started = StartAdminSession(context, request, scope, "users:create");
  if (!started.has_value()) return started.error();
  if (auto bad = RequireJson(request)) return *bad;
  // "OrgId" is the seed's optional organisation: Strongroom has one, so it
  // is accepted and ignored.
  StatusOr<json> body =
      ParseJsonObject(request.body(), {"name", "email", "login", "password", "OrgId", "orgId"});
  if (!body.has_value()) return body.error();
  StatusOr<SecretBytes> password = TakePassword(*body, "password");
  if (!password.has_value()) return password.error();
  accounts::NewUser user;
  for (auto [name, out] : {std::pair<const char*, std::string*>{"login", &user.login},
                           {"name", &user.name},
                           {"email", &user.email}}) {
    StatusOr<std::string> value = OptionalString(*body, name, "body");
    if (!value.has_value()) return value.error();
    *out = std::move(*value);
  }
  // As the seed does: without a login, the email is the login.
  if (user.login.empty()) user.login = user.email;
  user.password = &*password;
  scope.event.resource.name = user.login;
  StatusOr<storage::UserRecord> created = accounts::CreateUser(
      context.store, user, context.clock, ExpectAuditedWrite(context, scope, Success::kOk));
  if (!created.has_value()) return created.error();
  return JsonResponse(Success::kOk, json{{"id", std::strtoull(created->id.c_str(), nullptr, 10)},
                                         {"message", "User created"}}
                                        .dump());
}

ApiResult SetPasswordRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users.password:update");
  if (!begun.has_value()) return begun.error();
  const storage::UserRecord& user = (*begun).user;
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<json> body = ParseJsonObject(request.body(), {"password"});
  if (!body.has_value()) return body.error();
  StatusOr<SecretBytes> password = TakePassword(*body, "password");
  if (!password.has_value()) return password.error();
  Status changed = accounts::SetPassword(context.store, user.login, *password,
                                         ExpectAuditedWrite(context, scope, Success::kOk));
  if (!changed.ok()) return changed;
  return Done("User password updated");
}

ApiResult SetPermissionsRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users.permissions:update");
  if (!begun.has_value()) return begun.error();
  const storage::UserRecord& user = (*begun).user;
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<json> body = ParseJsonObject(request.body(), {"isGrafanaAdmin"});
  if (!body.has_value()) return body.error();
  auto admin = body->find("isGrafanaAdmin");
  if (admin == body->end() || !admin->is_boolean()) {
    return ApiError::BadRequest("isGrafanaAdmin is required and must be true or false");
  }
  Status changed = accounts::SetServerAdmin(context.store, user.login, admin->get<bool>(),
                                            ExpectAuditedWrite(context, scope, Success::kOk));
  if (!changed.ok()) return changed;
  return Done("User permissions updated");
}

ApiResult DeleteUserRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users:delete");
  if (!begun.has_value()) return begun.error();
  const storage::UserRecord& user = (*begun).user;
  Status deleted = accounts::DeleteUser(context.store, user.login, context.clock,
                                        ExpectAuditedWrite(context, scope, Success::kOk));
  if (!deleted.ok()) {
    if (deleted.code() == StatusCode::kNotFound) {
      return ApiError::NotFound("user not found");
    }
    return deleted;
  }
  return Done("User deleted");
}

// TokenJson describes one API token. SECURITY: never its secret or hash.
json TokenJson(const storage::TokenRecord& token, std::int64_t now_micros) {
  auto time = [](std::int64_t micros) -> json {
    if (micros == 0) return nullptr;
    return Rfc3339Micros(TimePoint(std::chrono::microseconds(micros)));
  };
  const bool expired = token.expires_micros != 0 && token.expires_micros <= now_micros;
  return json{{"id", token.id},
              {"isActive", token.revoked_micros == 0 && !expired},
              {"createdAt", time(token.created_micros)},
              {"expiresAt", time(token.expires_micros)},
              {"revokedAt", time(token.revoked_micros)},
              {"role", token.role},
              {"namespace", token.namespace_name},
              {"description", token.description}};
}

ApiResult ListTokensRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users.authtoken:list");
  if (!begun.has_value()) return begun.error();
  auto& [session, user] = (*begun);
  StatusOr<std::vector<storage::TokenRecord>> tokens =
      accounts::ListTokens(session.txn, user.login);
  if (!tokens.has_value()) return tokens.error();
  const std::int64_t now = UnixMicros(context.clock.Now());
  json list = json::array();
  for (const storage::TokenRecord& token : *tokens) list.push_back(TokenJson(token, now));
  return JsonResponse(Success::kOk, list.dump(-1, ' ', false, json::error_handler_t::replace));
}

// IsTokenId: a token's public id is 16 lower-case hex digits (accounts/accounts.h).
bool IsTokenId(std::string_view id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

ApiResult RevokeTokenRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users.authtoken:update");
  if (!begun.has_value()) return begun.error();
  const storage::UserRecord& user = (*begun).user;
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<json> body = ParseJsonObject(request.body(), {"authTokenId"});
  if (!body.has_value()) return body.error();
  auto id = body->find("authTokenId");
  if (id == body->end() || !id->is_string()) {
    return ApiError::BadRequest("authTokenId is required and must be a string");
  }
  const std::string token_id = id->get<std::string>();
  if (!IsTokenId(token_id)) return ApiError::NotFound("auth token not found");
  scope.event.details = {{"token_id", token_id}};
  // The owner is checked inside the write: another user's token is unknown here.
  Status revoked =
      accounts::RevokeToken(context.store, token_id, context.clock,
                            ExpectAuditedWrite(context, scope, Success::kOk), user.login);
  if (!revoked.ok()) {
    if (revoked.code() == StatusCode::kNotFound) {
      return ApiError::NotFound("auth token not found");
    }
    return revoked;
  }
  return Done("User auth token revoked");
}

ApiResult LogoutRoute(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = BeginOnUser(context, request, scope, "users.logout");
  if (!begun.has_value()) return begun.error();
  const storage::UserRecord& user = (*begun).user;
  StatusOr<std::size_t> revoked = accounts::RevokeTokensOf(
      context.store, user.login, context.clock, ExpectAuditedWrite(context, scope, Success::kOk));
  if (!revoked.has_value()) return revoked.error();
  return Done("User logged out");
}

}  // namespace

void AddAdminUserRoutes(Router& router, ApiContext& context) {
  // Blocking: password hashing (scrypt) and store writes.
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  const std::string user(kUser);
  router.Add(Method::Post, kUsers, Execution::kBlocking, audited(CreateUserRoute));
  router.Add(Method::Delete, kUser, Execution::kBlocking, audited(DeleteUserRoute));
  router.Add(Method::Put, user + "/password", Execution::kBlocking, audited(SetPasswordRoute));
  router.Add(Method::Put, user + "/permissions", Execution::kBlocking,
             audited(SetPermissionsRoute));
  router.Add(Method::Get, user + "/auth-tokens", Execution::kBlocking, audited(ListTokensRoute));
  router.Add(Method::Post, user + "/revoke-auth-token", Execution::kBlocking,
             audited(RevokeTokenRoute));
  router.Add(Method::Post, user + "/logout", Execution::kBlocking, audited(LogoutRoute));
}

}  // namespace strongroom::api

// The error boundary (api/core/errors.h): each typed error becomes one HTTP
// status, the body of its API (Kubernetes Status, Dapr's {errorCode,
// message}, {"message"} for Sensu and the admin API), its Retry-After and
// WWW-Authenticate headers and its audit outcome; nothing is read out of a
// message's text. Pure functions: no server.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "api/core/errors.h"
#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

constexpr std::string_view kGrafana =
    "/apis/secret.grafana.app/v1beta1/namespaces/ns/securevalues/x";
constexpr std::string_view kDapr = "/v1.0/secrets/ns/x";
constexpr std::string_view kSensu = "/api/enterprise/secrets/v1/namespaces/ns/secrets/x";
constexpr std::string_view kAdmin = "/api/admin/users/7";

std::optional<std::string> Header(const HttpResponse& response, std::string_view name) {
  std::optional<std::string> found;
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      EXPECT_FALSE(found.has_value()) << "header " << name << " appears twice";
      found = value;
    }
  }
  return found;
}

HttpRequest RequestFor(std::string_view path) {
  HttpRequest request;
  request.path = std::string(path);
  request.request_id = "req-1";
  return request;
}

TEST(ErrorBoundary, EachWireReasonHasOneHttpStatusAndKubernetesReason) {
  struct Row {
    ApiReason reason;
    int status;
    std::string_view kubernetes;
    std::string_view audit;
  };
  const Row rows[] = {
      {ApiReason::kBadRequest, 400, "BadRequest", "invalid_request"},
      {ApiReason::kUnauthorized, 401, "Unauthorized", "rejected"},
      {ApiReason::kForbidden, 403, "Forbidden", "forbidden"},
      {ApiReason::kNotFound, 404, "NotFound", "not_found"},
      {ApiReason::kAlreadyExists, 409, "AlreadyExists", "conflict"},
      {ApiReason::kConflict, 409, "Conflict", "conflict"},
      {ApiReason::kRequestEntityTooLarge, 413, "RequestEntityTooLarge", "too_large"},
      {ApiReason::kUnsupportedMediaType, 415, "UnsupportedMediaType", "unsupported_media_type"},
      {ApiReason::kInvalid, 422, "Invalid", "invalid_object"},
      {ApiReason::kTooManyRequests, 429, "TooManyRequests", "throttled"},
      {ApiReason::kInternalError, 500, "InternalError", "internal_error"},
      {ApiReason::kBadGateway, 502, "", "internal_error"},
      {ApiReason::kServiceUnavailable, 503, "ServiceUnavailable", "unavailable"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(HttpStatusOf(row.reason), row.status);
    EXPECT_EQ(KubernetesReasonOf(row.reason), row.kubernetes);
    EXPECT_EQ(AuditReasonOf(row.reason), row.audit);
    EXPECT_EQ(AuditOutcomeOf(row.reason), row.reason == ApiReason::kForbidden
                                              ? audit::Outcome::kDenied
                                              : audit::Outcome::kFailed);
  }
  EXPECT_EQ(HttpStatusOf(Success::kOk), 200);
  EXPECT_EQ(HttpStatusOf(Success::kCreated), 201);
  EXPECT_EQ(HttpStatusOf(Success::kNoContent), 204);
}

TEST(ErrorBoundary, StatusCodesMapThroughOneTable) {
  EXPECT_EQ(ApiError::FromStatus(Status::InvalidArgument("x")).reason, ApiReason::kBadRequest);
  EXPECT_EQ(ApiError::FromStatus(Status::OutOfRange("x")).reason, ApiReason::kBadRequest);
  EXPECT_EQ(ApiError::FromStatus(Status::FailedPrecondition("x")).reason, ApiReason::kBadRequest);
  EXPECT_EQ(ApiError::FromStatus(Status::Unauthenticated("x")).reason, ApiReason::kUnauthorized);
  EXPECT_EQ(ApiError::FromStatus(Status::PermissionDenied("x")).reason, ApiReason::kForbidden);
  EXPECT_EQ(ApiError::FromStatus(Status::NotFound("x")).reason, ApiReason::kNotFound);
  EXPECT_EQ(ApiError::FromStatus(Status::AlreadyExists("x")).reason, ApiReason::kAlreadyExists);
  EXPECT_EQ(ApiError::FromStatus(Status::Aborted("x")).reason, ApiReason::kConflict);
  EXPECT_EQ(ApiError::FromStatus(Status::ResourceExhausted("x")).reason,
            ApiReason::kServiceUnavailable);
  EXPECT_EQ(ApiError::FromStatus(Status::TokenUnavailable("x")).reason,
            ApiReason::kServiceUnavailable);
  EXPECT_EQ(ApiError::FromStatus(Status::Unavailable("x")).reason, ApiReason::kServiceUnavailable);
  EXPECT_EQ(ApiError::FromStatus(Status::IntegrityError("x")).reason, ApiReason::kInternalError);
  EXPECT_EQ(ApiError::FromStatus(Status::Internal("x")).reason, ApiReason::kInternalError);
  // An OK status handed over as an error is a bug, answered as one.
  ApiError ok = ApiError::FromStatus(Status::Ok());
  EXPECT_EQ(ok.reason, ApiReason::kInternalError);
  EXPECT_STATUS(ok.status, StatusCode::kInternal);
}

TEST(ErrorBoundary, AKubernetesNotFoundNamesTheObject) {
  HttpResponse response = ErrorToResponse(
      kGrafana, "req-1",
      ApiError::NotFound("securevalues \"x\" not found").About("x", "securevalues"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body,
            R"({"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure",)"
            R"("message":"securevalues \"x\" not found","reason":"NotFound",)"
            R"("details":{"name":"x","group":"secret.grafana.app","kind":"securevalues"},)"
            R"("code":404})");
  EXPECT_FALSE(Header(response, "Retry-After").has_value());
}

TEST(ErrorBoundary, AlreadyExistsKeepsItsOwnKubernetesReason) {
  HttpResponse response = ErrorToResponse(
      kGrafana, "req-1",
      ApiError::FromStatus(Status::AlreadyExists("securevalues \"x\" already exists")));
  EXPECT_EQ(response.status, 409);
  EXPECT_NE(response.body.find(R"("reason":"AlreadyExists")"), std::string::npos) << response.body;
}

TEST(ErrorBoundary, AnInternalErrorShowsNoDetailAndNamesNoObject) {
  HttpResponse response =
      ErrorToResponse(kGrafana, "req-1",
                      ApiError::FromStatus(Status::Internal("lmdb said: MDB_CORRUPTED at page 7"))
                          .About("x", "sv"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.find("MDB_CORRUPTED"), std::string::npos) << response.body;
  EXPECT_EQ(response.body.find("details"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find(R"("message":"internal error")"), std::string::npos);

  HttpResponse integrity =
      ErrorToResponse(kSensu, "req-1", ApiError::FromStatus(Status::IntegrityError("mac of k")));
  EXPECT_EQ(integrity.body, R"({"message":"a stored record failed its integrity check"})");

  // A message known to be safe may be shown (a policy file's parse error).
  HttpResponse shown = ErrorToResponse(
      kAdmin, "req-1", ApiError::FromStatus(Status::Internal("policy: line 3")).ShowingDetail());
  EXPECT_EQ(shown.status, 500);
  EXPECT_EQ(shown.body, R"({"message":"policy: line 3"})");
}

TEST(ErrorBoundary, SensuAndAdminErrorsAreAMessageObject) {
  HttpResponse sensu =
      ErrorToResponse(kSensu, "req-1", ApiError::NotFound("secret \"x\" not found"));
  EXPECT_EQ(sensu.status, 404);
  EXPECT_EQ(sensu.body, R"({"message":"secret \"x\" not found"})");
  HttpResponse admin = ErrorToResponse(kAdmin, "req-1", ApiError::Forbidden("no"));
  EXPECT_EQ(admin.status, 403);
  EXPECT_EQ(admin.body, R"({"message":"no"})");
  HttpResponse gateway =
      ErrorToResponse(kSensu, "req-1", ApiError::BadGateway("provider \"p\" does not exist"));
  EXPECT_EQ(gateway.status, 502);
  EXPECT_EQ(gateway.body, R"({"message":"provider \"p\" does not exist"})");
}

TEST(ErrorBoundary, DaprErrorsCarryDaprCodes) {
  HttpResponse forbidden =
      ErrorToResponse(kDapr, "req-1", ApiError::Forbidden("service 'a' may not"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.body,
            R"({"errorCode":"ERR_PERMISSION_DENIED","message":"service 'a' may not"})");
  HttpResponse store =
      ErrorToResponse(kDapr, "req-1", ApiError::BadRequest("secret store ns not found"));
  EXPECT_EQ(store.status, 400);
  EXPECT_EQ(store.body,
            R"({"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"secret store ns not found"})");
  HttpResponse large = ErrorToResponse(kDapr, "req-1", ApiError::TooLarge("more than 5 secrets"));
  EXPECT_EQ(large.status, 413);
  EXPECT_EQ(large.body, R"({"errorCode":"ERR_SECRET_GET","message":"more than 5 secrets"})");
  // Dapr's client reads one fixed message for these, whatever the cause.
  HttpResponse unauthenticated = ErrorToResponse(
      kDapr, "req-1", ApiError::FromStatus(Status::Unauthenticated("certificate has no identity")));
  EXPECT_EQ(unauthenticated.status, 401);
  EXPECT_EQ(unauthenticated.body, R"({"errorCode":"ERR_UNAUTHENTICATED",)"
                                  R"("message":"a verified service certificate is required"})");
  HttpResponse token =
      ErrorToResponse(kDapr, "req-1", ApiError::FromStatus(Status::TokenUnavailable("slot 0")));
  EXPECT_EQ(token.status, 503);
  EXPECT_EQ(token.body, R"({"errorCode":"ERR_SECRET_GET","message":"failed to get secret"})");
  EXPECT_EQ(Header(token, "Retry-After"), "1");
}

TEST(ErrorBoundary, RetryAfterComesFromTheTypedValue) {
  HttpResponse throttled =
      ErrorToResponse(kAdmin, "req-1",
                      ApiError::TooManyRequests("too many failed attempts; retry in 99 s",
                                                std::chrono::seconds(7)));
  EXPECT_EQ(throttled.status, 429);
  // The number is the field's, not the message's.
  EXPECT_EQ(Header(throttled, "Retry-After"), "7");
  EXPECT_EQ(ErrorToResponse(kAdmin, "r", ApiError::TooManyRequests("", std::chrono::seconds(0)))
                .headers.front()
                .second,
            "1");  // never less than a second
  EXPECT_EQ(Header(ErrorToResponse(kGrafana, "r", ApiError::Unavailable("busy")), "Retry-After"),
            "1");
  HttpResponse refused = ErrorToResponse(
      kGrafana, "r",
      ApiError::FromStatus(Status::Unavailable("log")).RetryAfter(std::chrono::seconds(1)));
  EXPECT_EQ(Header(refused, "Retry-After"), "1");  // once, not twice
  EXPECT_FALSE(Header(ErrorToResponse(kGrafana, "r", ApiError::Conflict("c")), "Retry-After"));
}

TEST(ErrorBoundary, OnlyAManagementUnauthorizedChallengesForBasic) {
  HttpResponse challenged = ErrorToResponse(
      kAdmin, "r", ApiError::Unauthorized("authentication required").WithBasicChallenge());
  EXPECT_EQ(challenged.status, 401);
  EXPECT_EQ(Header(challenged, "WWW-Authenticate"), "Basic realm=\"strongroom\"");
  EXPECT_FALSE(
      Header(ErrorToResponse(kAdmin, "r", ApiError::Unauthorized("x")), "WWW-Authenticate"));
}

TEST(ErrorBoundary, ConcludeGivesTheAuditOutcomeAndReason) {
  HttpRequest request = RequestFor(kGrafana);
  Answer allowed = Conclude(request, JsonResponse(Success::kCreated, "{}"));
  EXPECT_EQ(allowed.response.status, 201);
  EXPECT_EQ(allowed.outcome, audit::Outcome::kAllowed);
  EXPECT_EQ(allowed.audit_reason, "ok");

  Answer denied = Conclude(request, ApiError::Forbidden("no"));
  EXPECT_EQ(denied.response.status, 403);
  EXPECT_EQ(denied.outcome, audit::Outcome::kDenied);
  EXPECT_EQ(denied.audit_reason, "forbidden");

  Answer named = Conclude(request, ApiError::Forbidden("no").WithAuditReason("no_permission"));
  EXPECT_EQ(named.audit_reason, "no_permission");

  Answer failed = Conclude(request, Status::NotFound("gone"));
  EXPECT_EQ(failed.response.status, 404);
  EXPECT_EQ(failed.outcome, audit::Outcome::kFailed);
  EXPECT_EQ(failed.audit_reason, "not_found");
}

TEST(ErrorBoundary, AResultConvertsFromEachWayAHandlerFails) {
  ApiResult from_status = Status::AlreadyExists("dup");
  EXPECT_STATUS(from_status, StatusCode::kAlreadyExists);
  EXPECT_EQ(from_status.error().reason, ApiReason::kAlreadyExists);
  ApiResult from_unexpected = std::unexpected(Status::Aborted("raced"));
  EXPECT_EQ(from_unexpected.error().reason, ApiReason::kConflict);
  ApiResult from_api_or = std::unexpected(ApiError::NotFound("n"));
  EXPECT_STATUS(from_api_or, StatusCode::kNotFound);
  ApiResult ok = EmptyResponse(Success::kNoContent);
  EXPECT_OK(ok);
  EXPECT_EQ(ok.response().status, 204);
  EXPECT_TRUE(ok.response().content_type.empty());
}

TEST(ErrorBoundary, TheServersOwnRefusalsOnDaprPathsAreAMessageObject) {
  // docs/openapi.yaml, DaprServiceUnavailable: busy or unaudited is {"message"}.
  EXPECT_EQ(ServerRefusalApi(kDapr), WireApi::kMessage);
  EXPECT_EQ(ServerRefusalApi(kGrafana), WireApi::kKubernetes);
  HttpResponse busy = ErrorToResponse(ServerRefusalApi(kDapr), "r",
                                      ApiError::Unavailable("server busy, retry later"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, R"({"message":"server busy, retry later"})");
  EXPECT_EQ(Header(busy, "Retry-After"), "1");
}

TEST(ErrorBoundary, TheFrontsRefusalsKeepTheirShape) {
  EXPECT_EQ(FrontErrorResponse("/v1.0/secrets", 404, "no route").body, R"({"message":"no route"})");
  HttpResponse k8s = FrontErrorResponse("/apis/x", 405, "method not allowed");
  EXPECT_EQ(k8s.status, 405);
  EXPECT_NE(k8s.body.find(R"("reason":"MethodNotAllowed")"), std::string::npos) << k8s.body;
}

}  // namespace
}  // namespace strongroom::api

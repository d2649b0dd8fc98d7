#include "api/wire/k8s_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strongroom::api {
namespace {

using nlohmann::json;

TEST(KubernetesStatusBody, WritesTheFailureObjectInKubernetesOrder) {
  EXPECT_EQ(KubernetesStatusBody(404, "securevalues \"x\" not found"),
            R"({"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure",)"
            R"("message":"securevalues \"x\" not found","reason":"NotFound","code":404})");
}

TEST(KubernetesStatusBody, DefaultsReasonFromCode) {
  const std::pair<int, const char*> cases[] = {
      {400, "BadRequest"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "NotFound"},
      {405, "MethodNotAllowed"},
      {406, "NotAcceptable"},
      {409, "Conflict"},
      {410, "Expired"},
      {411, "BadRequest"},
      {413, "RequestEntityTooLarge"},
      {415, "UnsupportedMediaType"},
      {422, "Invalid"},
      {429, "TooManyRequests"},
      {500, "InternalError"},
      {503, "ServiceUnavailable"},
      {418, "Unknown"},
      {502, "Unknown"},
  };
  for (const auto& [code, reason] : cases) {
    json body = json::parse(KubernetesStatusBody(code, "m"));
    EXPECT_EQ(body["reason"], reason) << code;
    EXPECT_EQ(body["code"], code);
  }
}

TEST(KubernetesStatusBody, UsesGivenReasonOverDefault) {
  json body = json::parse(KubernetesStatusBody(409, "exists", "AlreadyExists"));
  EXPECT_EQ(body["reason"], "AlreadyExists");
}

TEST(KubernetesStatusBody, IncludesDetailsOnlyWithNameOrKind) {
  EXPECT_FALSE(json::parse(KubernetesStatusBody(404, "m")).contains("details"));
  EXPECT_FALSE(json::parse(KubernetesStatusBody(404, "m", {}, {.group = "g"})).contains("details"));
  json body = json::parse(KubernetesStatusBody(404, "m", {}, {.name = "api-key"}));
  EXPECT_EQ(body["details"], json({{"name", "api-key"}}));
  body = json::parse(KubernetesStatusBody(
      404, "m", {}, {.name = "n", .group = "secret.grafana.app", .kind = "securevalues"}));
  EXPECT_EQ(body["details"],
            json({{"name", "n"}, {"group", "secret.grafana.app"}, {"kind", "securevalues"}}));
}

TEST(KubernetesStatusBody, ReplacesInvalidUtf8InMessage) {
  std::string body = KubernetesStatusBody(400, "bad \xff\xfe name");
  json parsed = json::parse(body);
  EXPECT_EQ(parsed["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD name");
}

TEST(KubernetesSuccessBody, MatchesTheSeedDeleteResponse) {
  EXPECT_EQ(KubernetesSuccessBody(),
            R"({"apiVersion":"v1","kind":"Status","metadata":{},"status":"Success","code":200})");
  json body = json::parse(KubernetesSuccessBody({.name = "api-key", .kind = "securevalues"}));
  EXPECT_EQ(body["details"], json({{"name", "api-key"}, {"kind", "securevalues"}}));
  EXPECT_EQ(body["status"], "Success");
}

TEST(JsonMessageBody, WrapsMessageAndEscapesIt) {
  EXPECT_EQ(JsonMessageBody("no \"such\" store"), R"({"message":"no \"such\" store"})");
  EXPECT_EQ(json::parse(JsonMessageBody("x\xc0"))["message"], "x\xEF\xBF\xBD");
}

}  // namespace
}  // namespace strongroom::api

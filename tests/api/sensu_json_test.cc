// The JSON of Sensu secrets and providers (SPEC 6.3, the Sensu seed):
// strict PUT bodies, the seed's exact output shape, and env allow lists.
#include "api/sensu/sensu_json.h"
#include "tests/support/status_matchers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strongroom::api {
namespace {

using nlohmann::json;

std::string SeedBody() {
  return R"({"type": "Secret", "api_version": "secrets/v1",
             "metadata": {"name": "sensu-ansible-token", "namespace": "default"},
             "spec": {"id": "secret/ansible#token", "provider": "ansible_vault"}})";
}

std::string SecretError(const std::string& body, const std::string& name = "sensu-ansible-token") {
  StatusOr<SensuSecretInput> input = ParseSensuSecret(body, "default", name);
  EXPECT_FALSE(input.has_value()) << body;
  return input.has_value() ? "" : input.error().message();
}

TEST(SensuJson, TheSeedsPutBodyParses) {
  StatusOr<SensuSecretInput> input = ParseSensuSecret(SeedBody(), "default", "sensu-ansible-token");
  ASSERT_OK(input);
  EXPECT_EQ(input->id, "secret/ansible#token");
  EXPECT_EQ(input->provider, "ansible_vault");
  EXPECT_FALSE(input->decrypters.has_value());
}

TEST(SensuJson, NameAndNamespaceMustMatchThePathWhenGiven) {
  EXPECT_NE(SecretError(SeedBody(), "other").find("metadata.name"), std::string::npos);
  StatusOr<SensuSecretInput> other_ns =
      ParseSensuSecret(SeedBody(), "team-a", "sensu-ansible-token");
  ASSERT_FALSE(other_ns.has_value());
  EXPECT_NE(other_ns.error().message().find("metadata.namespace"), std::string::npos);
  StatusOr<SensuSecretInput> bare =
      ParseSensuSecret(R"({"spec": {"id": "x", "provider": "env"}})", "default", "n");
  EXPECT_OK(bare) << "name and namespace may be left out";
}

TEST(SensuJson, MalformedBodiesNameTheField) {
  EXPECT_NE(SecretError("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(SecretError("[]").find("must be an object"), std::string::npos);
  EXPECT_NE(SecretError(R"({"type": "Provider", "spec": {"id": "x", "provider": "p"}})")
                .find("type must be Secret"),
            std::string::npos);
  EXPECT_NE(SecretError(R"({"api_version": "v2", "spec": {"id": "x", "provider": "p"}})")
                .find("api_version"),
            std::string::npos);
  EXPECT_NE(SecretError(R"({"metadata": {}})").find("spec is required"), std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"provider": "p"}})").find("spec.id"), std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"id": "x"}})").find("spec.provider"), std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"id": "x", "provider": "a/b"}})").find("spec.provider"),
            std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"id": "x", "provider": "p", "value": "v"}})")
                .find("unknown field \"spec.value\""),
            std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"id": "x\u0001", "provider": "p"}})").find("spec.id"),
            std::string::npos);
  EXPECT_NE(SecretError(R"({"spec": {"id": "x", "provider": "p", "decrypters": ["a", "a"]}})")
                .find("duplicate"),
            std::string::npos);
  EXPECT_NE(
      SecretError(R"({"metadata": {"labels": {"k": 1}}, "spec": {"id": "x", "provider": "p"}})")
          .find("metadata.labels"),
      std::string::npos);
}

TEST(SensuJson, CreatedByInTheBodyIsAcceptedAndIgnored) {
  StatusOr<SensuSecretInput> input = ParseSensuSecret(
      R"({"metadata": {"created_by": "mallory"}, "spec": {"id": "x", "provider": "p"}})", "default",
      "n");
  ASSERT_OK(input);
}

TEST(SensuJson, ASecretRendersInTheSeedsShapeAndOrder) {
  storage::SensuSecretRecord record;
  record.namespace_name = "default";
  record.name = "sensu-ansible-token";
  record.id = "secret/ansible#token";
  record.provider = "ansible_vault";
  record.created_by = "admin";
  EXPECT_EQ(
      RenderSensuSecret(record),
      R"({"type":"Secret","api_version":"secrets/v1","metadata":{"name":"sensu-ansible-token",)"
      R"("namespace":"default","created_by":"admin"},"spec":{"id":"secret/ansible#token",)"
      R"("provider":"ansible_vault"}})");
  record.labels = {{"region", "us"}};
  record.decrypters = std::vector<std::string>{"svc-a"};
  json rendered = json::parse(RenderSensuSecret(record));
  EXPECT_EQ(rendered["metadata"]["labels"], json({{"region", "us"}}));
  EXPECT_EQ(rendered["spec"]["decrypters"], json({"svc-a"})) << "the extension, once set";
  record.decrypters = std::vector<std::string>{};
  EXPECT_EQ(json::parse(RenderSensuSecret(record))["spec"]["decrypters"], json::array())
      << "an empty list is kept: it allows nobody";
  EXPECT_EQ(RenderSensuSecretList({}), "[]");
}

TEST(SensuJson, ProvidersParseAndRender) {
  StatusOr<SensuProviderInput> env = ParseSensuProvider(
      R"({"type": "Provider", "api_version": "secrets/v1", "metadata": {"name": "env"},
          "spec": {"type": "env", "allow": ["APP_*", "DB_PASSWORD"]}})",
      "env");
  ASSERT_OK(env);
  EXPECT_EQ(env->type, "env");
  EXPECT_EQ(env->allow, (std::vector<std::string>{"APP_*", "DB_PASSWORD"}));
  storage::SensuProviderRecord record{"env", "env", env->allow, "admin", 0, 0};
  EXPECT_EQ(RenderSensuProvider(record),
            R"({"type":"Provider","api_version":"secrets/v1","metadata":{"name":"env",)"
            R"("created_by":"admin"},"spec":{"type":"env","allow":["APP_*","DB_PASSWORD"]}})");
  for (const char* bad :
       {R"({"spec": {"type": "vault"}})", R"({"spec": {"type": "env", "allow": ["*"]}})",
        R"({"spec": {"type": "env", "allow": ["A-B"]}})",
        R"({"spec": {"type": "env", "allow": [1]}})",
        R"({"spec": {"type": "strongroom", "allow": ["A"]}})",
        R"({"metadata": {"name": "other"}, "spec": {"type": "env"}})",
        R"({"type": "Secret", "spec": {"type": "env"}})"}) {
    EXPECT_FALSE(ParseSensuProvider(bad, "env").has_value()) << bad;
  }
}

TEST(SensuJson, EnvAllowListsMatchNamesAndPrefixes) {
  const std::vector<std::string> allow = {"APP_*", "DB_PASSWORD"};
  EXPECT_TRUE(EnvAllowed(allow, "APP_TOKEN"));
  EXPECT_TRUE(EnvAllowed(allow, "APP_"));
  EXPECT_TRUE(EnvAllowed(allow, "DB_PASSWORD"));
  EXPECT_FALSE(EnvAllowed(allow, "DB_PASSWORD_OLD"));
  EXPECT_FALSE(EnvAllowed(allow, "APPX"));
  EXPECT_FALSE(EnvAllowed(allow, "SOFTHSM2_CONF"));
  EXPECT_FALSE(EnvAllowed({}, "APP_TOKEN")) << "an empty list allows nothing";
}

TEST(SensuJson, SensuNamesFollowSensusRule) {
  EXPECT_OK(ValidateSensuName("sensu-ansible-token", "name"));
  EXPECT_OK(ValidateSensuName("ansible_vault.2", "name"));
  EXPECT_OK(ValidateSensuName("UPPER", "name"));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "é"}) {
    EXPECT_FALSE(ValidateSensuName(bad, "name").ok()) << bad;
  }
  EXPECT_FALSE(ValidateSensuName(std::string(254, 'a'), "name").ok());
}

}  // namespace
}  // namespace strongroom::api

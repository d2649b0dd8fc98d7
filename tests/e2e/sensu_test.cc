// The Sensu secrets API and its providers (SPEC 6.3, issue 7), end to end
// against the real server over real TLS: every endpoint and status code of
// the seed, response filtering and paging, created_by taken from the actor,
// the built-in `strongroom` and the `env` providers, and resolving a secret
// over mutual TLS (allowed and denied callers, each audited).
#include <stdlib.h>

#include <set>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"

namespace strongroom::testing_support {
namespace {

using nlohmann::json;

// svc-a may decrypt in team-a; editor edits team-a; viewer reads team-a.
// svc-sensu may resolve Sensu secrets in team-a but decrypt no secure
// value; svc-db may resolve them and decrypt only the value "db-password".
const std::string kPolicy = R"({
  "roles": [
    {"name": "SensuResolver", "permissions": [
      {"action": "sensu.secrets:decrypt", "scope": "sensu.secrets:*"}]},
    {"name": "DbPasswordDecrypter", "permissions": [
      {"action": "secret.securevalues:decrypt", "scope": "secret.securevalues:name:db-password"}]}
  ],
  "bindings": [
    {"service": "svc-a", "role": "Decrypter", "namespace": "team-a"},
    {"service": "svc-sensu", "role": "SensuResolver", "namespace": "team-a"},
    {"service": "svc-db", "role": "SensuResolver", "namespace": "team-a"},
    {"service": "svc-db", "role": "DbPasswordDecrypter", "namespace": "team-a"},
    {"user": "editor", "role": "Editor", "namespace": "team-a"},
    {"user": "viewer", "role": "Viewer", "namespace": "team-a"}
  ]
})";

// Environment of the server process (inherited from this test process).
// Fixture values, not secrets.
constexpr const char* kAllowedVariable = "SR_E2E_ALLOWED_TOKEN";
constexpr const char* kAllowedValue = "env value \xc3\xa9 \xe2\x82\xac";
constexpr const char* kHiddenVariable = "SR_E2E_HIDDEN";
constexpr const char* kHiddenValue = "hidden env value";

std::string Secrets(const std::string& ns) {
  return "/api/enterprise/secrets/v1/namespaces/" + ns + "/secrets";
}
std::string Secret(const std::string& ns, const std::string& name) {
  return Secrets(ns) + "/" + name;
}
std::string Value(const std::string& ns, const std::string& name) {
  return Secret(ns, name) + "/value";
}
const std::string kProviders = "/api/enterprise/secrets/v1/providers";

// SecretBody is a PUT body in the seed's shape.
std::string SecretBody(const std::string& ns, const std::string& name, const std::string& id,
                       const std::string& provider, json extra_spec = json::object(),
                       json labels = json()) {
  json body = {{"type", "Secret"},
               {"api_version", "secrets/v1"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"spec", {{"id", id}, {"provider", provider}}}};
  for (auto& [key, value] : extra_spec.items()) body["spec"][key] = value;
  if (!labels.is_null()) body["metadata"]["labels"] = labels;
  return body.dump();
}

std::string ProviderBody(const std::string& name, const std::string& type, json allow = json()) {
  json body = {{"type", "Provider"},
               {"api_version", "secrets/v1"},
               {"metadata", {{"name", name}}},
               {"spec", {{"type", type}}}};
  if (!allow.is_null()) body["spec"]["allow"] = allow;
  return body.dump();
}

class SensuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kAllowedVariable, kAllowedValue, 1);
    ::setenv(kHiddenVariable, kHiddenValue, 1);
    ServerProcessOptions options;
    options.extra_policy_files["sensu.json"] = kPolicy;
    server_ = ServerProcess::Start(options);
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(AddUser(*server_, "editor").exit_code, 0);
    ASSERT_EQ(AddUser(*server_, "viewer").exit_code, 0);
    ASSERT_EQ(AddUser(*server_, "nobody").exit_code, 0);
    svc_a_ = server_->pki().IssueClient("svc-a", {.common_name = "svc-a"});
    svc_b_ = server_->pki().IssueClient("svc-b", {.common_name = "svc-b"});
  }

  HttpsResponse Put(HttpsClient& client, const std::string& ns, const std::string& name,
                    const std::string& body) {
    return client.Request("PUT", Secret(ns, name), body);
  }

  std::unique_ptr<ServerProcess> server_;
  IssuedCertificate svc_a_, svc_b_;
};

TEST_F(SensuTest, EverySecretsEndpointAnswersWithTheSeedsShapesAndCodes) {
  HttpsClient admin = server_->AdminClient();
  // PUT creates: 201, no body.
  HttpsResponse created =
      Put(admin, "default", "sensu-ansible-token",
          SecretBody("default", "sensu-ansible-token", "secret/ansible#token", "ansible_vault"));
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body, "");
  // GET one: exactly the seed's object, created_by the actor.
  HttpsResponse got = admin.Request("GET", Secret("default", "sensu-ansible-token"));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body), json::parse(R"({
    "type": "Secret", "api_version": "secrets/v1",
    "metadata": {"name": "sensu-ansible-token", "namespace": "default", "created_by": "admin"},
    "spec": {"id": "secret/ansible#token", "provider": "ansible_vault"}})"));
  // GET list: a JSON array of those objects.
  HttpsResponse listed = admin.Request("GET", Secrets("default"));
  ASSERT_EQ(listed.status, 200);
  json list = json::parse(listed.body);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], json::parse(got.body));
  // PUT updates: 201 again, the new reference stored.
  EXPECT_EQ(Put(admin, "default", "sensu-ansible-token",
                SecretBody("default", "sensu-ansible-token", "secret/ansible#v2", "ansible_vault"))
                .status,
            201);
  EXPECT_EQ(json::parse(
                admin.Request("GET", Secret("default", "sensu-ansible-token")).body)["spec"]["id"],
            "secret/ansible#v2");
  // DELETE: 204, then 404; GET of a missing secret: 404 with a message.
  HttpsResponse deleted = admin.Request("DELETE", Secret("default", "sensu-ansible-token"));
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.body, "");
  EXPECT_EQ(admin.Request("DELETE", Secret("default", "sensu-ansible-token")).status, 404);
  HttpsResponse missing = admin.Request("GET", Secret("default", "sensu-ansible-token"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(json::parse(missing.body).value("message", "").find("not found"), std::string::npos);
  EXPECT_EQ(admin.Request("GET", Secrets("default")).body, "[]");
}

TEST_F(SensuTest, MalformedPutsAre400Or415AndChangeNothing) {
  HttpsClient admin = server_->AdminClient();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"name differs", SecretBody("default", "other", "id", "env")},
      {"namespace differs", SecretBody("team-a", "s", "id", "env")},
      {"not JSON", "{"},
      {"no provider", R"({"spec": {"id": "x"}})"},
      {"no id", R"({"spec": {"provider": "env"}})"},
      {"a value field", R"({"spec": {"id": "x", "provider": "p", "value": "v"}})"},
      {"wrong type", R"({"type": "Provider", "spec": {"id": "x", "provider": "p"}})"},
  };
  for (const auto& [what, body] : bad) {
    HttpsResponse refused = Put(admin, "default", "s", body);
    EXPECT_EQ(refused.status, 400) << what << ": " << refused.body;
    EXPECT_FALSE(json::parse(refused.body, nullptr, false).value("message", "").empty()) << what;
  }
  HttpsResponse text = admin.Request("PUT", Secret("default", "s"),
                                     SecretBody("default", "s", "id", "p"), "text/plain");
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(
      admin.Request("PUT", Secret("default", "bad:name"), SecretBody("default", "x", "i", "p"))
          .status,
      400);
  EXPECT_EQ(admin.Request("GET", Secrets("default")).body, "[]") << "nothing was stored";
}

TEST_F(SensuTest, CreatedByIsAlwaysTheActorNeverTheBody) {
  HttpsClient editor = BasicClient(*server_, "editor", PasswordOf("editor"));
  json body = json::parse(SecretBody("team-a", "s", "id", "p"));
  body["metadata"]["created_by"] = "admin";
  ASSERT_EQ(Put(editor, "team-a", "s", body.dump()).status, 201);
  HttpsClient admin = server_->AdminClient();
  EXPECT_EQ(json::parse(admin.Request("GET", Secret("team-a", "s")).body)["metadata"]["created_by"],
            "editor");
  // Sensu's "Authorization: Key <api-key>": the token's owner is the actor.
  const std::string token = IssueToken(*server_, "editor", "Editor", "team-a");
  ASSERT_FALSE(token.empty());
  HttpsClient key = HeaderClient(*server_, "Key " + token);
  ASSERT_EQ(Put(key, "team-a", "s", SecretBody("team-a", "s", "id2", "p")).status, 201);
  json stored = json::parse(admin.Request("GET", Secret("team-a", "s")).body);
  EXPECT_EQ(stored["metadata"]["created_by"], "editor");
  EXPECT_EQ(stored["spec"]["id"], "id2");
  // The write's audit record names the actor and the resource.
  std::vector<json> records = WithAction(AuditRecords(*server_), "sensu.secrets:write");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(Field(records[1], "/actor/kind"), "token");
  EXPECT_EQ(Field(records[1], "/resource/name"), "s");
  EXPECT_EQ(Field(records[1], "/outcome/status"), "201");
}

TEST_F(SensuTest, RolesDecideWhoReadsAndWhoWrites) {
  HttpsClient editor = BasicClient(*server_, "editor", PasswordOf("editor"));
  HttpsClient viewer = BasicClient(*server_, "viewer", PasswordOf("viewer"));
  HttpsClient nobody = BasicClient(*server_, "nobody", PasswordOf("nobody"));
  HttpsClient anonymous(server_->base_url(), server_->ca_path());
  ASSERT_EQ(Put(editor, "team-a", "s", SecretBody("team-a", "s", "id", "p")).status, 201);
  EXPECT_EQ(viewer.Request("GET", Secret("team-a", "s")).status, 200);
  EXPECT_EQ(viewer.Request("GET", Secrets("team-a")).status, 200);
  EXPECT_EQ(Put(viewer, "team-a", "s", SecretBody("team-a", "s", "id", "p")).status, 403);
  EXPECT_EQ(viewer.Request("DELETE", Secret("team-a", "s")).status, 403);
  EXPECT_EQ(Put(editor, "team-b", "s", SecretBody("team-b", "s", "id", "p")).status, 403)
      << "another namespace";
  EXPECT_EQ(nobody.Request("GET", Secrets("team-a")).status, 403);
  EXPECT_EQ(nobody.Request("GET", Secret("team-a", "s")).status, 403);
  EXPECT_EQ(anonymous.Request("GET", Secrets("team-a")).status, 401);
  EXPECT_EQ(
      anonymous.Request("PUT", Secret("team-a", "s"), SecretBody("team-a", "s", "i", "p")).status,
      401);
  EXPECT_EQ(editor.Request("DELETE", Secret("team-a", "s")).status, 204);
}

TEST_F(SensuTest, ListsFilterByLabelAndFieldSelectorsAndPageWithSensuContinue) {
  HttpsClient admin = server_->AdminClient();
  struct Item {
    std::string name, provider, region;
  };
  const std::vector<Item> items = {{"api-key", "env", "us"},
                                   {"db-password", "strongroom", "us"},
                                   {"db-replica", "strongroom", "eu"},
                                   {"queue-token", "vault", "eu"},
                                   {"web-cert", "strongroom", "us"}};
  for (const Item& item : items) {
    ASSERT_EQ(
        Put(admin, "team-a", item.name,
            SecretBody("team-a", item.name, item.name, item.provider,
                       item.provider == "env" ? json{{"decrypters", {"svc-a"}}} : json::object(),
                       json{{"region", item.region}}))
            .status,
        201)
        << item.name;
  }
  auto names = [&](const std::string& query) {
    HttpsResponse response = admin.Request("GET", Secrets("team-a") + query);
    EXPECT_EQ(response.status, 200) << query << ": " << response.body;
    std::vector<std::string> out;
    for (const json& item : json::parse(response.body, nullptr, false)) {
      out.push_back(item["metadata"]["name"]);
    }
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names("?fieldSelector=secret.provider%20%3D%3D%20strongroom"),
            (Names{"db-password", "db-replica", "web-cert"}));
  EXPECT_EQ(names("?fieldSelector=secret.provider%20!%3D%20strongroom"),
            (Names{"api-key", "queue-token"}));
  EXPECT_EQ(names("?fieldSelector=secret.name%20in%20%5Bapi-key%2Cweb-cert%5D"),
            (Names{"api-key", "web-cert"}));
  EXPECT_EQ(names("?fieldSelector=secret.name%20notin%20%5Bapi-key%2Cweb-cert%5D"),
            (Names{"db-password", "db-replica", "queue-token"}));
  EXPECT_EQ(names("?fieldSelector=secret.name%20matches%20db"),
            (Names{"db-password", "db-replica"}));
  EXPECT_EQ(names("?labelSelector=region%20%3D%3D%20eu"), (Names{"db-replica", "queue-token"}));
  EXPECT_EQ(names("?labelSelector=region%20%3D%3D%20us&fieldSelector=secret.name%20matches%20db"),
            (Names{"db-password"}));
  EXPECT_EQ(names("?labelSelector=region%3D%3Dus%20%26%26%20region%20!%3D%20eu"),
            (Names{"api-key", "db-password", "web-cert"}));
  // Paging: every item exactly once, the cursor in Sensu-Continue.
  std::vector<std::string> paged;
  std::string query = "?limit=2";
  for (int page = 0; page < 10; ++page) {
    HttpsResponse response = admin.Request("GET", Secrets("team-a") + query);
    ASSERT_EQ(response.status, 200) << response.body;
    json batch = json::parse(response.body);
    EXPECT_LE(batch.size(), 2u);
    for (const json& item : batch) paged.push_back(item["metadata"]["name"]);
    auto next = response.headers.find("sensu-continue");
    if (next == response.headers.end()) break;
    query = "?limit=2&continue=" + next->second;
  }
  EXPECT_EQ(paged, (Names{"api-key", "db-password", "db-replica", "queue-token", "web-cert"}));
  // Bad filters and cursors: 400 with a message.
  for (const std::string bad :
       {"?fieldSelector=secret.id%20%3D%3D%20x", "?fieldSelector=secret.name%20in%20api-key",
        "?labelSelector=region", "?limit=-1", "?continue=bm90LWEtY3Vyc29y"}) {
    HttpsResponse refused = admin.Request("GET", Secrets("team-a") + bad);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
  }
}

TEST_F(SensuTest, ProvidersAreListedChangedOnlyByServerAdminsAndTheBuiltInOneStays) {
  HttpsClient admin = server_->AdminClient();
  HttpsClient editor = BasicClient(*server_, "editor", PasswordOf("editor"));
  HttpsClient anonymous(server_->base_url(), server_->ca_path());
  HttpsResponse listed = admin.Request("GET", kProviders);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(json::parse(listed.body), json::parse(R"([{"type": "Provider",
      "api_version": "secrets/v1", "metadata": {"name": "strongroom"},
      "spec": {"type": "strongroom"}}])"));
  HttpsResponse created =
      admin.Request("PUT", kProviders + "/env", ProviderBody("env", "env", {"SR_E2E_ALLOWED_*"}));
  EXPECT_EQ(created.status, 201) << created.body;
  HttpsResponse got = admin.Request("GET", kProviders + "/env");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body), json::parse(R"({"type": "Provider", "api_version": "secrets/v1",
      "metadata": {"name": "env", "created_by": "admin"},
      "spec": {"type": "env", "allow": ["SR_E2E_ALLOWED_*"]}})"));
  EXPECT_EQ(json::parse(admin.Request("GET", kProviders).body).size(), 2u);
  // Only server admins change (and read) providers.
  EXPECT_EQ(editor.Request("PUT", kProviders + "/mine", ProviderBody("mine", "env", {"A"})).status,
            403);
  EXPECT_EQ(editor.Request("DELETE", kProviders + "/env").status, 403);
  EXPECT_EQ(editor.Request("GET", kProviders).status, 403);
  EXPECT_EQ(anonymous.Request("GET", kProviders).status, 401);
  // Bad bodies, the built-in provider, missing ones.
  EXPECT_EQ(admin.Request("PUT", kProviders + "/wide", ProviderBody("wide", "env", {"*"})).status,
            400);
  EXPECT_EQ(admin.Request("PUT", kProviders + "/v", ProviderBody("v", "vault")).status, 400);
  EXPECT_EQ(admin.Request("PUT", kProviders + "/x", ProviderBody("y", "env", {"A"})).status, 400);
  EXPECT_EQ(
      admin.Request("PUT", kProviders + "/strongroom", ProviderBody("strongroom", "env", {"A"}))
          .status,
      400);
  EXPECT_EQ(admin.Request("DELETE", kProviders + "/strongroom").status, 400);
  EXPECT_EQ(admin.Request("GET", kProviders + "/nothing").status, 404);
  EXPECT_EQ(admin.Request("DELETE", kProviders + "/nothing").status, 404);
  EXPECT_EQ(admin.Request("DELETE", kProviders + "/env").status, 204);
  EXPECT_EQ(admin.Request("GET", kProviders + "/env").status, 404);
}

// Resolve sends GET .../value as `client`; returns the response.
HttpsResponse Resolve(HttpsClient& client, const std::string& ns, const std::string& name) {
  return client.Request("GET", Value(ns, name));
}

TEST_F(SensuTest, ResolvingThroughTheStrongroomProviderFollowsTheDecryptRules) {
  HttpsClient admin = server_->AdminClient();
  ASSERT_EQ(
      admin
          .Request("POST", SecureValues("team-a"),
                   ToBody({.name = "db-password", .value = "db value", .decrypters = {"svc-a"}}))
          .status,
      201);
  ASSERT_EQ(admin
                .Request("POST", SecureValues("team-a"),
                         ToBody({.name = "not-for-a", .value = "other value", .decrypters = {"x"}}))
                .status,
            201);
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"db", SecretBody("team-a", "db", "db-password", "strongroom")},
      {"db-listed-b", SecretBody("team-a", "db-listed-b", "db-password", "strongroom",
                                 {{"decrypters", {"svc-b"}}})},
      {"db-nobody", SecretBody("team-a", "db-nobody", "db-password", "strongroom",
                               {{"decrypters", json::array()}})},
      {"other", SecretBody("team-a", "other", "not-for-a", "strongroom")},
      {"dangling", SecretBody("team-a", "dangling", "no-such-value", "strongroom")},
      {"in-vault", SecretBody("team-a", "in-vault", "kv/db", "vault")},
  };
  for (const auto& [name, body] : secrets) ASSERT_EQ(Put(admin, "team-a", name, body).status, 201);
  HttpsClient as_a = server_->CertClient(svc_a_);
  HttpsClient as_b = server_->CertClient(svc_b_);
  struct Case {
    HttpsClient* client;
    std::string name;
    long status;
    std::string result, reason;
  };
  const std::vector<Case> cases = {
      {&as_a, "db", 200, "allowed", "ok"},
      {&as_a, "db-listed-b", 403, "denied", "not_on_allowlist"},
      {&as_a, "db-nobody", 403, "denied", "empty_allowlist"},
      {&as_a, "other", 403, "denied", "not_on_allowlist"},
      {&as_a, "missing", 404, "failed", "unknown_secret"},
      {&as_a, "dangling", 502, "failed", "provider_unresolved"},
      {&as_a, "in-vault", 502, "failed", "unknown_provider"},
      {&as_b, "db", 403, "denied", "no_permission"},
      {&as_b, "missing", 403, "denied", "no_permission"},
  };
  std::vector<std::pair<const Case*, std::string>> sent;
  for (const Case& c : cases) {
    HttpsResponse response = Resolve(*c.client, "team-a", c.name);
    EXPECT_EQ(response.status, c.status) << c.name << ": " << response.body;
    if (c.status == 200) {
      EXPECT_EQ(json::parse(response.body), json({{"value", "db value"}}));
    } else {
      EXPECT_EQ(response.body.find("value\""), std::string::npos) << response.body;
    }
    if (c.status == 502) {
      std::string message = json::parse(response.body).value("message", "");
      EXPECT_NE(message.find(c.name == "in-vault" ? "\"vault\"" : "\"strongroom\""),
                std::string::npos)
          << message;
    }
    sent.emplace_back(&c, response.headers["x-request-id"]);
  }
  // Only a verified service certificate resolves.
  EXPECT_EQ(Resolve(admin, "team-a", "db").status, 401);
  HttpsClient admin_cert = server_->CertClient(server_->admin_cert());
  EXPECT_EQ(Resolve(admin_cert, "team-a", "db").status, 401);
  std::vector<json> records = AuditRecords(*server_);
  for (const auto& [c, request_id] : sent) {
    SCOPED_TRACE(c->name);
    std::vector<json> found = WithRequestId(records, request_id);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(Field(found[0], "/action"), "sensu.secrets:decrypt");
    EXPECT_EQ(Field(found[0], "/actor/kind"), "service");
    EXPECT_EQ(Field(found[0], "/resource/name"), c->name);
    EXPECT_EQ(Field(found[0], "/outcome/result"), c->result);
    EXPECT_EQ(Field(found[0], "/outcome/reason"), c->reason);
    EXPECT_EQ(Field(found[0], "/outcome/status"), std::to_string(c->status));
  }
  EXPECT_EQ(AuditBytes(*server_).find("db value"), std::string::npos);
}

// SPEC 7: a decrypt needs the decrypt permission on the value. Resolving a
// Sensu secret through the strongroom provider decrypts the secure value it
// names, so the caller needs secret.securevalues:decrypt on that value (its
// name scopes honoured) besides sensu.secrets:decrypt and the allowlists.
TEST_F(SensuTest, ResolvingThroughStrongroomNeedsTheDecryptPermissionOnTheValue) {
  HttpsClient admin = server_->AdminClient();
  const std::vector<std::string> everyone = {"svc-a", "svc-sensu", "svc-db"};
  ASSERT_EQ(
      admin
          .Request("POST", SecureValues("team-a"),
                   ToBody({.name = "db-password", .value = "db value", .decrypters = everyone}))
          .status,
      201);
  ASSERT_EQ(admin
                .Request("POST", SecureValues("team-a"),
                         ToBody({.name = "api-key", .value = "api value", .decrypters = everyone}))
                .status,
            201);
  ASSERT_EQ(
      Put(admin, "team-a", "db", SecretBody("team-a", "db", "db-password", "strongroom")).status,
      201);
  ASSERT_EQ(
      Put(admin, "team-a", "api", SecretBody("team-a", "api", "api-key", "strongroom")).status,
      201);
  IssuedCertificate sensu_only =
      server_->pki().IssueClient("svc-sensu", {.common_name = "svc-sensu"});
  IssuedCertificate db_only = server_->pki().IssueClient("svc-db", {.common_name = "svc-db"});
  HttpsClient as_sensu = server_->CertClient(sensu_only);
  HttpsClient as_db = server_->CertClient(db_only);
  HttpsClient as_a = server_->CertClient(svc_a_);
  struct Case {
    HttpsClient* client;
    std::string name;
    long status;
    std::string result, reason;
  };
  const std::vector<Case> cases = {
      {&as_sensu, "db", 403, "denied", "no_value_permission"},
      {&as_db, "api", 403, "denied", "no_value_permission"},
      {&as_db, "db", 200, "allowed", "ok"},
      {&as_a, "api", 200, "allowed", "ok"},
  };
  std::vector<std::pair<const Case*, std::string>> sent;
  for (const Case& c : cases) {
    HttpsResponse response = Resolve(*c.client, "team-a", c.name);
    EXPECT_EQ(response.status, c.status) << c.name << ": " << response.body;
    if (c.status == 200) {
      EXPECT_EQ(json::parse(response.body),
                json({{"value", c.name == "db" ? "db value" : "api value"}}));
    } else {
      EXPECT_EQ(response.body.find("value\""), std::string::npos) << response.body;
    }
    sent.emplace_back(&c, response.headers["x-request-id"]);
  }
  std::vector<json> records = AuditRecords(*server_);
  for (const auto& [c, request_id] : sent) {
    SCOPED_TRACE(c->name);
    std::vector<json> found = WithRequestId(records, request_id);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(Field(found[0], "/outcome/result"), c->result);
    EXPECT_EQ(Field(found[0], "/outcome/reason"), c->reason);
  }
}

TEST_F(SensuTest, TheEnvProviderReadsOnlyAllowedVariablesForListedServices) {
  HttpsClient admin = server_->AdminClient();
  HttpsClient as_a = server_->CertClient(svc_a_);
  const json for_a = {{"decrypters", {"svc-a"}}};
  ASSERT_EQ(Put(admin, "team-a", "api-token",
                SecretBody("team-a", "api-token", kAllowedVariable, "env", for_a))
                .status,
            201);
  // Off until a server admin creates an env provider.
  EXPECT_EQ(Resolve(as_a, "team-a", "api-token").status, 502);
  ASSERT_EQ(
      admin.Request("PUT", kProviders + "/env", ProviderBody("env", "env", {"SR_E2E_ALLOWED_*"}))
          .status,
      201);
  HttpsResponse resolved = Resolve(as_a, "team-a", "api-token");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(json::parse(resolved.body), json({{"value", kAllowedValue}}));
  // A variable outside the allow list is refused, and never shown.
  ASSERT_EQ(
      Put(admin, "team-a", "hidden", SecretBody("team-a", "hidden", kHiddenVariable, "env", for_a))
          .status,
      201);
  HttpsResponse refused = Resolve(as_a, "team-a", "hidden");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body.find(kHiddenValue), std::string::npos);
  // An allowed name that is not set: the provider cannot resolve it.
  ASSERT_EQ(Put(admin, "team-a", "unset",
                SecretBody("team-a", "unset", "SR_E2E_ALLOWED_UNSET", "env", for_a))
                .status,
            201);
  EXPECT_EQ(Resolve(as_a, "team-a", "unset").status, 502);
  // A service the secret does not list is refused.
  HttpsClient as_b = server_->CertClient(svc_b_);
  EXPECT_EQ(Resolve(as_b, "team-a", "api-token").status, 403);
  // An env secret must list its decrypters once the provider exists.
  HttpsResponse unlisted =
      Put(admin, "team-a", "no-list", SecretBody("team-a", "no-list", kAllowedVariable, "env"));
  EXPECT_EQ(unlisted.status, 400);
  EXPECT_NE(unlisted.body.find("decrypters"), std::string::npos);
  std::vector<json> records = WithAction(AuditRecords(*server_), "sensu.secrets:decrypt");
  std::set<std::string> reasons;
  for (const json& r : records) reasons.insert(Field(r, "/outcome/reason"));
  EXPECT_TRUE(reasons.contains("env_not_allowed"));
  EXPECT_TRUE(reasons.contains("ok"));
  EXPECT_TRUE(reasons.contains("unknown_provider"));
  const std::string audit = AuditBytes(*server_);
  EXPECT_EQ(audit.find(kAllowedValue), std::string::npos);
  EXPECT_EQ(audit.find(kHiddenValue), std::string::npos);
}

}  // namespace
}  // namespace strongroom::testing_support

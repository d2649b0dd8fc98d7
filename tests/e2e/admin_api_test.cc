// The Grafana admin API's users, tokens, stats, settings and provisioning
// endpoints (SPEC 6.4, issue 7) against the real server: only server admins
// (Basic auth or a mapped certificate) may call them; API tokens get 403,
// other users 403, no credentials 401; changes to passwords, rights, tokens
// and users take effect on the next request; settings never show a secret;
// the seed's endpoints with no meaning here answer 404 with a reason.
//
// SECURITY: passwords and tokens made here are never printed: failure
// messages name logins and token ids only, and bodies are only searched.
#include <algorithm>
#include <sstream>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using nlohmann::json;

const std::string kStats = "/api/admin/stats";
const std::string kSettings = "/api/admin/settings";
const std::string kReload = "/api/admin/provisioning/access-control/reload";
const std::string kUsers = "/api/admin/users";

std::string UserPath(const std::string& id) { return kUsers + "/" + id; }

std::string PasswordBody(const std::string& password) {
  return json{{"password", password}}.dump();
}

std::string NewUserBody(const std::string& login, const std::string& password) {
  return json{{"name", "User " + login},
              {"email", login + "@example.test"},
              {"login", login},
              {"password", password}}
      .dump();
}

std::string Message(const HttpsResponse& response) {
  json body = json::parse(response.body, nullptr, false);
  return body.is_object() ? body.value("message", "") : "";
}

struct Endpoint {
  std::string method, path, body;
  long admin_status;
};

// Statuses runs every endpoint as `client` and returns "METHOD path=S ...".
std::string Statuses(HttpsClient& client, const std::vector<Endpoint>& endpoints,
                     bool expected_for_admin = false) {
  std::string out;
  for (const Endpoint& e : endpoints) {
    const long status = client.Request(e.method, e.path, e.body).status;
    out += e.method + " " + e.path + "=" +
           std::to_string(expected_for_admin ? status - e.admin_status : status) + "\n";
  }
  return out;
}

std::string AllEqual(const std::vector<Endpoint>& endpoints, long status) {
  std::string out;
  for (const Endpoint& e : endpoints) {
    out += e.method + " " + e.path + "=" + std::to_string(status) + "\n";
  }
  return out;
}

TEST(AdminApi, EveryEndpointAdmitsServerAdminsOnlyAndTokensAreRefused) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string viewer_id = AddUserWithId(*server, "vic", "Viewer", "team-a");
  const std::string target_id = AddUserWithId(*server, "tara", "Viewer", "team-a");
  ASSERT_FALSE(viewer_id.empty() || target_id.empty());
  const std::string admin_token = IssueToken(*server, "admin", "ServerAdmin", "*");
  const std::string target_token = IssueToken(*server, "tara", "Viewer", "team-a");
  ASSERT_FALSE(admin_token.empty() || target_token.empty());

  const std::string target = UserPath(target_id);
  const std::vector<Endpoint> endpoints = {
      {"GET", kStats, "", 200},
      {"GET", kSettings, "", 200},
      {"POST", kReload, "", 200},
      {"POST", kUsers, NewUserBody("newbie", PasswordOf("newbie")), 200},
      {"PUT", target + "/password", PasswordBody(PasswordOf("tara-2")), 200},
      {"PUT", target + "/permissions", R"({"isGrafanaAdmin": false})", 200},
      {"GET", target + "/auth-tokens", "", 200},
      {"POST", target + "/revoke-auth-token", json{{"authTokenId", TokenId(target_token)}}.dump(),
       200},
      {"POST", target + "/logout", "", 200},
      {"DELETE", target, "", 200},
  };

  HttpsClient anonymous(server->base_url(), server->ca_path());
  EXPECT_EQ(Statuses(anonymous, endpoints), AllEqual(endpoints, 401)) << "no credentials";
  HttpsClient viewer = BasicClient(*server, "vic", PasswordOf("vic"));
  EXPECT_EQ(Statuses(viewer, endpoints), AllEqual(endpoints, 403)) << "a user who is no admin";
  HttpsClient token = TokenClient(*server, admin_token);
  EXPECT_EQ(Statuses(token, endpoints), AllEqual(endpoints, 403))
      << "an API token, even a ServerAdmin one of a server admin";
  HttpsClient service = server->CertClient(server->decrypter_cert());
  EXPECT_EQ(Statuses(service, endpoints), AllEqual(endpoints, 403)) << "a service certificate";
  // Nothing above changed anything: tara still signs in with her password.
  HttpsClient tara = BasicClient(*server, "tara", PasswordOf("tara"));
  EXPECT_EQ(ListStatus(tara, "team-a"), 200);

  HttpsClient admin_cert = server->CertClient(server->admin_cert());
  EXPECT_EQ(admin_cert.Request("GET", kStats).status, 200) << "a certificate mapped to an admin";
  EXPECT_EQ(admin_cert.Request("GET", kSettings).status, 200);
  HttpsClient admin = server->AdminClient();
  EXPECT_EQ(Statuses(admin, endpoints, true), AllEqual(endpoints, 0))
      << "0 is the expected status for a server admin";
  EXPECT_EQ(ListStatus(tara, "team-a"), 401) << "tara was deleted last";
}

TEST(AdminApi, SeedEndpointsWithNoMeaningHereAnswer404WithAReason) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient anonymous(server->base_url(), server->ca_path());
  HttpsClient admin = server->AdminClient();
  const std::vector<std::pair<std::string, std::string>> unsupported = {
      {"PUT", kSettings},
      {"GET", "/api/admin/usage-report-preview"},
      {"POST", "/api/admin/pause-all-alerts"},
      {"POST", "/api/admin/ldap/reload"},
      {"POST", "/api/admin/provisioning/dashboards/reload"},
      {"POST", "/api/admin/provisioning/datasources/reload"},
      {"POST", "/api/admin/provisioning/plugins/reload"},
      {"POST", "/api/admin/provisioning/notifications/reload"},
  };
  for (const auto& [method, path] : unsupported) {
    for (HttpsClient* client : {&anonymous, &admin}) {
      HttpsResponse response = client->Request(method, path, "{}");
      EXPECT_EQ(response.status, 404) << method << " " << path;
      EXPECT_TRUE(Contains(Message(response), "not supported by Strongroom: "))
          << method << " " << path << ": " << response.body;
    }
  }
}

TEST(AdminApi, CreateUserAnswersTheIdAndRefusesBadBodiesWithoutEchoingThePassword) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  HttpsResponse created = admin.Request("POST", kUsers, NewUserBody("nina", PasswordOf("nina")));
  ASSERT_EQ(created.status, 200) << created.body;
  json body = ParseBody(created);
  EXPECT_EQ(body.value("message", ""), "User created");
  ASSERT_TRUE(body.contains("id") && body["id"].is_number_unsigned()) << created.body;
  const std::string nina_id = std::to_string(body["id"].get<std::uint64_t>());
  HttpsClient nina = BasicClient(*server, "nina", PasswordOf("nina"));
  EXPECT_EQ(ListStatus(nina, "team-a"), 403) << "signed in (not 401), but a new user has no role";
  EXPECT_EQ(admin.Request("GET", UserPath(nina_id) + "/auth-tokens").status, 200)
      << "the answered id is the user's";

  EXPECT_EQ(admin.Request("POST", kUsers, NewUserBody("nina", PasswordOf("nina2"))).status, 409);
  const std::string short_password = "eleven-char";
  HttpsResponse too_short = admin.Request("POST", kUsers, NewUserBody("olga", short_password));
  EXPECT_EQ(too_short.status, 400);
  EXPECT_TRUE(Contains(Message(too_short), "12")) << "names the rule";
  EXPECT_FALSE(Contains(too_short.body, short_password)) << "never echoes the password";
  const std::string secret = "a-long-enough-password-9";
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), json{{"login", "olga"}}.dump(),
        json{{"login", "olga"}, {"password", 123456789012}}.dump(),
        json{{"login", "olga"}, {"password", ""}}.dump(),
        json{{"login", "olga"}, {"password", std::string(2000, 'p')}}.dump(),
        json{{"login", 7}, {"password", secret}}.dump(),
        json{{"login", "Olga Upper"}, {"password", secret}}.dump(),
        json{{"login", "olga"}, {"password", secret}, {"role", "Admin"}}.dump(),
        json{{"password", secret}}.dump()}) {
    HttpsResponse refused = admin.Request("POST", kUsers, bad);
    EXPECT_EQ(refused.status, 400) << "body #" << bad.size();
    EXPECT_FALSE(Contains(refused.body, secret));
  }
  EXPECT_EQ(admin.Request("POST", kUsers, NewUserBody("olga", secret), "text/plain").status, 415);
  HttpsClient olga = BasicClient(*server, "olga", secret);
  EXPECT_EQ(ListStatus(olga, "team-a"), 401) << "no refused request made olga";

  // Without a login the email is the login, as in the seed.
  HttpsResponse by_email = admin.Request(
      "POST", kUsers, json{{"email", "pia@example.test"}, {"password", secret}}.dump());
  EXPECT_EQ(by_email.status, 200) << by_email.body;
  HttpsClient pia = BasicClient(*server, "pia@example.test", secret);
  EXPECT_EQ(ListStatus(pia, "team-a"), 403);

  // Audited under the catalogue's action with the login as the resource,
  // and no record holds a password.
  auto records = WaitForRecords(*server, [](const std::vector<json>& all) {
    return WithAction(all, "users:create").size() >= 4;
  });
  std::vector<json> creates = WithAction(records, "users:create");
  ASSERT_FALSE(creates.empty());
  EXPECT_EQ(Field(creates.front(), "/resource/name"), "nina") << creates.front().dump();
  EXPECT_EQ(Field(creates.front(), "/outcome/result"), "allowed") << creates.front().dump();
  EXPECT_FALSE(Field(creates.front(), "/resource_version").empty())
      << "recorded by the store's pre-commit hook with the write it commits";
  EXPECT_EQ(WithRequestId(records, Field(creates.front(), "/request_id")).size(), 1u)
      << "one record per request, under the request's own write tag";
  EXPECT_TRUE(WithAction(records, "user:create").empty()) << "no untagged system write";
  const std::string audit = AuditBytes(*server);
  for (const std::string& password :
       {PasswordOf("nina"), PasswordOf("nina2"), short_password, secret}) {
    EXPECT_FALSE(Contains(audit, password)) << "a password in the audit log";
  }
  EXPECT_FALSE(Contains(server->stderr_text(), secret)) << "a password in the server's log";
}

TEST(AdminApi, PasswordAndServerAdminChangesTakeEffectOnTheNextRequest) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string pat_id = AddUserWithId(*server, "pat", "Viewer", "team-a");
  ASSERT_FALSE(pat_id.empty());
  HttpsClient admin = server->AdminClient();
  HttpsClient old_password = BasicClient(*server, "pat", PasswordOf("pat"));
  EXPECT_EQ(ListStatus(old_password, "team-a"), 200) << "and now cached for up to 60 s";

  const std::string renewed = PasswordOf("pat-renewed");
  HttpsResponse changed =
      admin.Request("PUT", UserPath(pat_id) + "/password", PasswordBody(renewed));
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(Message(changed), "User password updated");
  EXPECT_EQ(ListStatus(old_password, "team-a"), 401) << "the old password, cached or not";
  HttpsClient pat = BasicClient(*server, "pat", renewed);
  EXPECT_EQ(ListStatus(pat, "team-a"), 200) << "the new password";

  HttpsResponse too_short =
      admin.Request("PUT", UserPath(pat_id) + "/password", PasswordBody("short-pw"));
  EXPECT_EQ(too_short.status, 400);
  EXPECT_FALSE(Contains(too_short.body, "short-pw"));
  EXPECT_EQ(admin.Request("PUT", UserPath(pat_id) + "/password", "{}").status, 400);
  EXPECT_EQ(admin.Request("PUT", UserPath("9999") + "/password", PasswordBody(renewed)).status,
            404);
  EXPECT_EQ(admin.Request("PUT", UserPath("nope") + "/password", PasswordBody(renewed)).status,
            404);
  EXPECT_EQ(ListStatus(pat, "team-a"), 200) << "refused changes changed nothing";

  // Server-admin rights: promote, then demote.
  EXPECT_EQ(pat.Request("GET", kStats).status, 403);
  const std::string permissions = UserPath(pat_id) + "/permissions";
  for (const std::string& bad : {std::string(R"({"isGrafanaAdmin": "yes"})"), std::string("{}"),
                                 std::string(R"({"isGrafanaAdmin": true, "x": 1})")}) {
    EXPECT_EQ(admin.Request("PUT", permissions, bad).status, 400) << bad;
  }
  HttpsResponse promoted = admin.Request("PUT", permissions, R"({"isGrafanaAdmin": true})");
  EXPECT_EQ(promoted.status, 200);
  EXPECT_EQ(Message(promoted), "User permissions updated");
  EXPECT_EQ(pat.Request("GET", kStats).status, 200) << "a promoted user is a server admin at once";
  EXPECT_EQ(CreateStatus(pat, "team-b", "by-pat"), 201) << "ServerAdmin on every namespace";
  EXPECT_EQ(admin.Request("PUT", permissions, R"({"isGrafanaAdmin": false})").status, 200);
  EXPECT_EQ(pat.Request("GET", kStats).status, 403) << "a demoted admin";
  EXPECT_EQ(CreateStatus(pat, "team-b", "by-pat-2"), 403);
  EXPECT_EQ(ListStatus(pat, "team-a"), 200) << "keeps the roles bound to the user";
  EXPECT_EQ(
      admin.Request("PUT", UserPath("9999") + "/permissions", R"({"isGrafanaAdmin": true})").status,
      404);

  auto records = WaitForRecords(*server, [](const std::vector<json>& all) {
    return WithAction(all, "users.permissions:update").size() >= 2;
  });
  EXPECT_FALSE(WithAction(records, "users.password:update").empty());
  EXPECT_FALSE(Contains(AuditBytes(*server), renewed));
}

TEST(AdminApi, AuthTokensAreListedWithoutSecretsAndRevokedOrLoggedOutTokensGet401) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string tom_id = AddUserWithId(*server, "tom", "Viewer", "team-a");
  ASSERT_FALSE(AddUserWithId(*server, "ann", "Viewer", "team-a").empty());
  ASSERT_FALSE(tom_id.empty());
  const std::vector<std::string> toms = {IssueToken(*server, "tom", "Viewer", "team-a"),
                                         IssueToken(*server, "tom", "Viewer", "team-a", "1h"),
                                         IssueToken(*server, "tom", "Viewer", "team-a")};
  const std::string anns = IssueToken(*server, "ann", "Viewer", "team-a");
  ASSERT_TRUE(std::none_of(toms.begin(), toms.end(), [](auto& t) { return t.empty(); }));
  ASSERT_FALSE(anns.empty());
  HttpsClient admin = server->AdminClient();

  HttpsResponse listed = admin.Request("GET", UserPath(tom_id) + "/auth-tokens");
  ASSERT_EQ(listed.status, 200) << listed.body;
  json list = ParseBody(listed);
  ASSERT_TRUE(list.is_array()) << listed.body;
  ASSERT_EQ(list.size(), 3u);
  std::vector<std::string> ids;
  for (const json& token : list) {
    ids.push_back(token.value("id", ""));
    EXPECT_TRUE(token.value("isActive", false));
    EXPECT_EQ(token.value("role", ""), "Viewer");
    EXPECT_EQ(token.value("namespace", ""), "team-a");
    EXPECT_TRUE(token.contains("createdAt") && token["createdAt"].is_string());
    EXPECT_TRUE(token.contains("expiresAt") && token.contains("description"));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected_ids = {TokenId(toms[0]), TokenId(toms[1]), TokenId(toms[2])};
  std::sort(expected_ids.begin(), expected_ids.end());
  EXPECT_EQ(ids, expected_ids);
  for (const std::string& token : toms) {
    EXPECT_FALSE(Contains(listed.body, token.substr(21))) << "a token's secret in the list";
  }
  EXPECT_FALSE(Contains(listed.body, "secret") || Contains(listed.body, "sha256"));

  std::vector<HttpsClient> clients;
  for (const std::string& token : toms) clients.push_back(TokenClient(*server, token));
  HttpsClient ann = TokenClient(*server, anns);
  for (HttpsClient& client : clients) EXPECT_EQ(ListStatus(client, "team-a"), 200);

  const std::string revoke = UserPath(tom_id) + "/revoke-auth-token";
  HttpsResponse revoked = admin.Request("POST", revoke, json{{"authTokenId", ids[0]}}.dump());
  EXPECT_EQ(revoked.status, 200);
  EXPECT_EQ(Message(revoked), "User auth token revoked");
  for (std::size_t i = 0; i < toms.size(); ++i) {
    EXPECT_EQ(ListStatus(clients[i], "team-a"), TokenId(toms[i]) == ids[0] ? 401 : 200)
        << "token " << TokenId(toms[i]);
  }
  EXPECT_EQ(admin.Request("POST", revoke, json{{"authTokenId", TokenId(anns)}}.dump()).status, 404)
      << "another user's token is unknown here";
  EXPECT_EQ(ListStatus(ann, "team-a"), 200);
  EXPECT_EQ(
      admin.Request("POST", revoke, json{{"authTokenId", std::string(16, 'e')}}.dump()).status,
      404);
  EXPECT_EQ(admin.Request("POST", revoke, json{{"authTokenId", "../x"}}.dump()).status, 404);
  EXPECT_EQ(admin.Request("POST", revoke, "{}").status, 400);
  EXPECT_EQ(admin.Request("POST", revoke, json{{"authTokenId", 5}}.dump()).status, 400);
  EXPECT_EQ(admin
                .Request("POST", UserPath("9999") + "/revoke-auth-token",
                         json{{"authTokenId", ids[1]}}.dump())
                .status,
            404);

  HttpsResponse logged_out = admin.Request("POST", UserPath(tom_id) + "/logout");
  EXPECT_EQ(logged_out.status, 200);
  EXPECT_EQ(Message(logged_out), "User logged out");
  for (HttpsClient& client : clients) EXPECT_EQ(ListStatus(client, "team-a"), 401);
  EXPECT_EQ(ListStatus(ann, "team-a"), 200) << "only tom was logged out";
  json after = ParseBody(admin.Request("GET", UserPath(tom_id) + "/auth-tokens"));
  ASSERT_TRUE(after.is_array());
  for (const json& token : after) EXPECT_FALSE(token.value("isActive", true)) << token.dump();
  EXPECT_EQ(admin.Request("GET", UserPath("9999") + "/auth-tokens").status, 404);

  const std::string audit = AuditBytes(*server);
  for (const std::string& token : toms) EXPECT_FALSE(Contains(audit, token.substr(21)));
  std::vector<json> records = AuditRecords(*server);
  EXPECT_FALSE(WithAction(records, "users.authtoken:update").empty());
  EXPECT_FALSE(WithAction(records, "users.logout").empty());
  EXPECT_FALSE(WithAction(records, "users.authtoken:list").empty());
}

TEST(AdminApi, ADeletedUserGets401AndTheirTokensDieWithThem) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string dan_id = AddUserWithId(*server, "dan", "Viewer", "team-a");
  ASSERT_FALSE(dan_id.empty());
  const std::string dans = IssueToken(*server, "dan", "Viewer", "team-a");
  ASSERT_FALSE(dans.empty());
  HttpsClient dan = BasicClient(*server, "dan", PasswordOf("dan"));
  HttpsClient dan_token = TokenClient(*server, dans);
  EXPECT_EQ(ListStatus(dan, "team-a"), 200) << "and now cached for up to 60 s";
  EXPECT_EQ(ListStatus(dan_token, "team-a"), 200);

  HttpsClient admin = server->AdminClient();
  HttpsResponse deleted = admin.Request("DELETE", UserPath(dan_id));
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(Message(deleted), "User deleted");
  EXPECT_EQ(ListStatus(dan, "team-a"), 401) << "a deleted user, cached or not";
  EXPECT_EQ(ListStatus(dan_token, "team-a"), 401) << "a deleted user's token";
  EXPECT_EQ(admin.Request("DELETE", UserPath(dan_id)).status, 404);
  EXPECT_EQ(admin.Request("DELETE", UserPath("9999")).status, 404);

  // A new dan with the same login and password inherits nothing.
  EXPECT_EQ(admin.Request("POST", kUsers, NewUserBody("dan", PasswordOf("dan"))).status, 200);
  EXPECT_EQ(ListStatus(dan_token, "team-a"), 401);
  EXPECT_EQ(ListStatus(dan, "team-a"), 403) << "signed in, but no role: the old binding is gone";
  std::vector<json> deletes = WithAction(AuditRecords(*server), "users:delete");
  ASSERT_FALSE(deletes.empty());
  EXPECT_EQ(Field(deletes.front(), "/resource/name"), "dan");
}

TEST(AdminApi, TheLastServerAdminCanBeNeitherDemotedNorDeleted) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  const std::string admin_id = "1";  // the bootstrap user `strongroom init` made
  ASSERT_EQ(admin.Request("GET", UserPath(admin_id) + "/auth-tokens").status, 200);
  const std::string demote = R"({"isGrafanaAdmin": false})";
  HttpsResponse demoted = admin.Request("PUT", UserPath(admin_id) + "/permissions", demote);
  EXPECT_EQ(demoted.status, 400);
  EXPECT_TRUE(Contains(Message(demoted), "last server admin")) << Message(demoted);
  HttpsResponse deleted = admin.Request("DELETE", UserPath(admin_id));
  EXPECT_EQ(deleted.status, 400);
  EXPECT_EQ(admin.Request("GET", kStats).status, 200) << "still a server admin";

  // With a second server admin, either may go.
  const std::string ann_id = AddUserWithId(*server, "ann", "", "", true);
  ASSERT_FALSE(ann_id.empty());
  EXPECT_EQ(admin.Request("PUT", UserPath(admin_id) + "/permissions", demote).status, 200);
  EXPECT_EQ(admin.Request("GET", kStats).status, 403) << "demoted";
  HttpsClient ann = BasicClient(*server, "ann", PasswordOf("ann"));
  EXPECT_EQ(ann.Request("PUT", UserPath(ann_id) + "/permissions", demote).status, 400)
      << "ann is now the last one";
  EXPECT_EQ(ann.Request("DELETE", UserPath(admin_id)).status, 200);
  EXPECT_EQ(ann.Request("DELETE", UserPath(ann_id)).status, 400);
}

TEST(AdminApi, StatsCountTheStoreAndTheAuditLog) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  ASSERT_EQ(CreateStatus(admin, "team-a", "one"), 201);
  ASSERT_EQ(CreateStatus(admin, "team-b", "two"), 201);
  ASSERT_EQ(admin.Request("POST", kUsers, NewUserBody("sid", PasswordOf("sid"))).status, 200);
  ASSERT_FALSE(IssueToken(*server, "sid", "Viewer", "team-a").empty());
  const std::string revoked = IssueToken(*server, "admin", "Viewer", "team-a");
  ASSERT_FALSE(revoked.empty());
  CliOk(*server, {"token", "revoke", TokenId(revoked)});

  HttpsResponse answered = admin.Request("GET", kStats);
  ASSERT_EQ(answered.status, 200) << answered.body;
  json stats = ParseBody(answered);
  ASSERT_TRUE(stats.is_object()) << answered.body;
  EXPECT_EQ(stats.value("secureValues", -1), 2);
  EXPECT_EQ(stats.value("sensuSecrets", -1), 0);
  EXPECT_EQ(stats.value("users", -1), 2) << "admin and sid";
  EXPECT_EQ(stats.value("serverAdmins", -1), 1);
  EXPECT_EQ(stats.value("tokens", -1), 2);
  EXPECT_EQ(stats.value("activeTokens", -1), 1);
  EXPECT_EQ(stats.value("dataKeys", -1), 2) << "one per namespace per day";
  EXPECT_EQ(stats.value("activeDataKeys", -1), 2);
  EXPECT_EQ(stats.value("keks", -1), 1);
  EXPECT_GT(stats.value("auditRecords", 0), 4);

  ASSERT_EQ(admin.Request("POST", kRotateDataKeys, "", "").status, 204);
  json rotated = ParseBody(admin.Request("GET", kStats));
  EXPECT_EQ(rotated.value("dataKeys", -1), 2);
  EXPECT_EQ(rotated.value("activeDataKeys", -1), 0) << "rotation deactivates every data key";
  EXPECT_GT(rotated.value("auditRecords", 0), stats.value("auditRecords", 0));
}

TEST(AdminApi, SettingsShowTheConfigurationButNeverAPinPasswordTokenOrKey) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  const std::string created_password = PasswordOf("sue");
  ASSERT_EQ(admin.Request("POST", kUsers, NewUserBody("sue", created_password)).status, 200);
  const std::string token = IssueToken(*server, "admin", "ServerAdmin", "*");
  ASSERT_FALSE(token.empty());

  HttpsResponse answered = admin.Request("GET", kSettings);
  ASSERT_EQ(answered.status, 200);
  json settings = ParseBody(answered);
  ASSERT_TRUE(settings.is_object()) << "settings are not JSON";
  EXPECT_EQ(settings["tls"].value("certificate", ""), server->dir() + "/pki/server.pem");
  EXPECT_EQ(settings["server"].value("data_dir", ""), server->data_dir());
  EXPECT_EQ(settings["server"].value("policy_dir", ""), server->policy_dir());
  EXPECT_EQ(settings["token"].value("pin_file", ""), "************");
  EXPECT_FALSE(settings["limits"].value("max_body_bytes", "").empty());

  const std::string& body = answered.body;
  EXPECT_FALSE(Contains(body, server->token().pin())) << "the token PIN";
  EXPECT_FALSE(Contains(body, server->token().so_pin())) << "the SO PIN";
  EXPECT_FALSE(Contains(body, server->token().pin_file())) << "where the PIN is read from";
  EXPECT_FALSE(Contains(body, server->admin_password())) << "the admin password";
  EXPECT_FALSE(Contains(body, created_password)) << "a user's password";
  EXPECT_FALSE(Contains(body, token)) << "an issued token";
  EXPECT_FALSE(Contains(body, token.substr(21))) << "an issued token's secret";
  EXPECT_FALSE(Contains(body, "PRIVATE KEY"));
  const std::string key = ReadWhole(server->dir() + "/pki/server.key");
  ASSERT_GT(key.size(), 100u);
  std::istringstream lines(key);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 16 && !line.starts_with("-----")) {
      EXPECT_FALSE(Contains(body, line)) << "a line of the server key's file";
    }
  }
}

TEST(AdminApi, AccessControlReloadAppliesNewFilesAndKeepsThePolicyWhenOneIsMalformed) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_FALSE(AddUserWithId(*server, "rita").empty());
  HttpsClient rita = BasicClient(*server, "rita", PasswordOf("rita"));
  HttpsClient admin = server->AdminClient();
  EXPECT_EQ(ListStatus(rita, "team-a"), 403) << "no role yet";

  ASSERT_TRUE(WriteFileBytes(
      server->policy_dir() + "/team.json",
      R"({"bindings": [{"user": "rita", "role": "Viewer", "namespace": "team-a"}]})"));
  HttpsResponse reloaded = admin.Request("POST", kReload);
  EXPECT_EQ(reloaded.status, 200) << reloaded.body;
  EXPECT_EQ(ListStatus(rita, "team-a"), 200) << "the new binding applies at once";

  ASSERT_TRUE(WriteFileBytes(server->policy_dir() + "/broken.json",
                             "{\n  \"bindings\": [\n    {\"user\": }\n  ]\n}\n"));
  HttpsResponse refused = admin.Request("POST", kReload);
  EXPECT_GE(refused.status, 400);
  EXPECT_TRUE(Contains(Message(refused), "broken.json:3")) << refused.body;
  EXPECT_EQ(ListStatus(rita, "team-a"), 200) << "the previous policy still applies";
  std::vector<json> records = WithAction(AuditRecords(*server), "provisioning:reload");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(Field(records[1], "/outcome/result"), "failed");
  EXPECT_EQ(Field(records[1], "/outcome/reason"), "invalid_policy");
}

}  // namespace
}  // namespace strongroom::testing_support

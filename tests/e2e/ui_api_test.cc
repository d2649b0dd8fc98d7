// The web view's server side (issue 21) against the real server over real
// TLS: the key inventory and the audit counts (inventory:read: Auditors and
// server admins; never key material or a secret), and the browser sessions
// of /api/ui/session — sign-in with the form's CSRF token, the cookie
// accepted only on the view's GET reads and ignored on every write, admin
// action and decrypt, sign-out, refusals (wrong password, a Viewer, a wrong
// CSRF token), throttling shared with Basic, and the end of a session when
// its user is deleted, demoted or given a new password.
//
// SECURITY: passwords, session tokens and the canary values are never
// printed; failures show statuses and error bodies only.
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/support/browser_session.h"

namespace strongroom::testing_support {
namespace {

using nlohmann::json;

const std::string kKeys = "/api/admin/encryption/keys";
const std::string kCounts = "/api/audit/counts";
const std::string kSession = "/api/ui/session";

// The GET reads the view makes: the cookie is accepted on these only.
const std::vector<std::string> kViewReads = {"/api/audit/events", "/api/audit/verify",
                                             "/api/audit/public-key", kCounts, kKeys};

const std::string kDecryptPolicy =
    R"({"bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "team-a"}]})";

// Canary returns a random value that must never leave the store except
// through a decrypt. SECURITY: never printed.
std::string Canary() {
  unsigned char random[12];
  EXPECT_EQ(RAND_bytes(random, sizeof random), 1);
  std::string out = "canary-";
  for (unsigned char c : random) out += "0123456789abcdef"[c % 16];
  return out;
}

// Browser returns a client with no credentials at all.
HttpsClient Browser(const ServerProcess& server) {
  return HttpsClient(server.base_url(), server.ca_path());
}

// SignedIn returns a browser holding `login`'s session ("" session, after
// recording a failure, when the sign-in failed).
struct SignedInBrowser {
  HttpsClient client;
  BrowserSignIn sign_in;
};
SignedInBrowser SignIn(const ServerProcess& server, const std::string& login,
                       const std::string& password) {
  SignedInBrowser browser{Browser(server), {}};
  browser.sign_in = SignInAsBrowser(browser.client, login, password);
  EXPECT_EQ(browser.sign_in.response.status, 200) << login << ": " << browser.sign_in.response.body;
  EXPECT_EQ(browser.sign_in.session.size(), 64u) << login;
  UseSession(browser.client, browser.sign_in.session);
  return browser;
}

std::string Statuses(HttpsClient& client, const std::vector<std::string>& paths) {
  std::string out;
  for (const std::string& path : paths) {
    out += path + "=" + std::to_string(client.Request("GET", path).status) + " ";
  }
  return out;
}

std::string AllEqual(const std::vector<std::string>& paths, long status) {
  std::string out;
  for (const std::string& path : paths) out += path + "=" + std::to_string(status) + " ";
  return out;
}

TEST(UiApi, InventoryAndCountsAnswerAuditorsAndServerAdminsOnlyAndHoldNoSecret) {
  ServerProcessOptions options;
  options.extra_policy_files["decrypt.json"] = kDecryptPolicy;
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  AddUser(*server, "audrey", "Auditor", "*");
  AddUser(*server, "vic", "Viewer", "team-a");
  AddUser(*server, "eddie", "Editor", "team-a");
  const std::string canary = Canary();
  HttpsClient admin = server->AdminClient();
  json value = {
      {"apiVersion", "secret.grafana.app/v1beta1"},
      {"kind", "SecureValue"},
      {"metadata", {{"name", "db-password"}}},
      {"spec",
       {{"description", "ui canary"}, {"value", canary}, {"decrypters", {"demo-service"}}}}};
  ASSERT_EQ(admin.Request("POST", SecureValues("team-a"), value.dump()).status, 201);
  HttpsClient service = server->CertClient(server->decrypter_cert());
  HttpsResponse decrypted =
      service.Request("POST", SecureValue("team-a", "db-password") + "/decrypt");
  ASSERT_EQ(decrypted.status, 200);
  ASSERT_TRUE(Contains(decrypted.body, canary)) << "the decrypt itself returns the value";
  ASSERT_EQ(admin.Request("POST", "/api/admin/encryption/rotate-data-keys", "", "").status, 204);
  ASSERT_EQ(admin.Request("POST", "/api/admin/encryption/rotate-kek", "", "").status, 200);

  HttpsClient viewer = BasicClient(*server, "vic", PasswordOf("vic"));
  HttpsClient editor = BasicClient(*server, "eddie", PasswordOf("eddie"));
  HttpsClient anonymous = Browser(*server);
  EXPECT_EQ(Statuses(viewer, {kKeys, kCounts}), AllEqual({kKeys, kCounts}, 403));
  EXPECT_EQ(Statuses(editor, {kKeys, kCounts}), AllEqual({kKeys, kCounts}, 403));
  EXPECT_EQ(Statuses(anonymous, {kKeys, kCounts}), AllEqual({kKeys, kCounts}, 401));

  HttpsClient auditor = BasicClient(*server, "audrey", PasswordOf("audrey"));
  std::string bodies;
  for (HttpsClient* client : {&auditor, &admin}) {
    HttpsResponse keys = client->Request("GET", kKeys);
    ASSERT_EQ(keys.status, 200) << keys.body;
    bodies += keys.body;
    json inventory = ParseBody(keys);
    ASSERT_TRUE(inventory.is_object()) << keys.body;
    ASSERT_EQ(inventory["keks"].size(), 2u) << "the first KEK and the rotated one";
    int current = 0;
    for (const json& kek : inventory["keks"]) {
      current += kek["current"].get<bool>() ? 1 : 0;
      EXPECT_TRUE(kek["in_token"].get<bool>()) << kek.dump();
      EXPECT_EQ(kek["created"].get<std::string>().size(), 27u) << kek.dump();
    }
    EXPECT_EQ(current, 1);
    ASSERT_GE(inventory["data_keys"].size(), 1u);
    const json& data_key = inventory["data_keys"][0];
    EXPECT_EQ(data_key["namespace"], "team-a");
    EXPECT_EQ(data_key["state"], "retired") << "rotate-data-keys retired it";
    EXPECT_GE(data_key["reserved_counter"].get<std::uint64_t>(), 1u);
    EXPECT_EQ(data_key["day"].get<std::string>().size(), 10u);
    EXPECT_EQ(inventory["namespaces"],
              json::parse(R"([{"name":"team-a","secure_values":1,"sensu_secrets":0}])"));
    ASSERT_EQ(inventory["rotations"].size(), 2u) << keys.body;
    EXPECT_EQ(inventory["rotations"][0]["action"], "keys:rotate-kek") << "newest first";
    EXPECT_EQ(inventory["rotations"][1]["action"], "keys:rotate-data-keys");
    EXPECT_EQ(inventory["rotations"][0]["actor"], "admin");
    EXPECT_EQ(inventory["rotations"][0]["outcome"], "allowed");
  }

  HttpsResponse counts = auditor.Request("GET", kCounts);
  ASSERT_EQ(counts.status, 200) << counts.body;
  bodies += counts.body;
  json hourly = ParseBody(counts);
  ASSERT_TRUE(hourly.is_object());
  EXPECT_EQ(hourly["from"].get<std::string>().size(), 27u);
  auto count_of = [&](const std::string& action, const std::string& outcome) {
    std::uint64_t total = 0;
    for (const json& bucket : hourly["buckets"]) {
      EXPECT_TRUE(bucket["hour"].get<std::string>().ends_with(":00:00Z")) << bucket.dump();
      if (bucket["action"] == action && bucket["outcome"] == outcome) {
        total += bucket["count"].get<std::uint64_t>();
      }
    }
    return total;
  };
  EXPECT_EQ(count_of("secret.securevalues:decrypt", "allowed"), 1u);
  EXPECT_EQ(count_of("inventory:read", "denied"), 2u) << "the Viewer's and the Editor's";
  EXPECT_EQ(count_of("audit.counts:read", "denied"), 2u);
  EXPECT_EQ(count_of("inventory:read", "allowed"), 2u);

  // A window in the future holds nothing; bad windows are refused.
  HttpsResponse future =
      auditor.Request("GET", kCounts + "?from=2100-01-01T00:00:00Z&to=2100-01-02T00:00:00Z");
  ASSERT_EQ(future.status, 200);
  EXPECT_EQ(ParseBody(future)["buckets"], json::array());
  EXPECT_EQ(ParseBody(future)["to"], "2100-01-02T00:00:00.000000Z");
  for (const std::string query :
       {"?from=yesterday", "?to=2026-02-30T00:00:00Z",
        "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:01Z", "?from=%zz"}) {
    HttpsResponse refused = auditor.Request("GET", kCounts + query);
    EXPECT_EQ(refused.status, 400) << query << ": " << refused.body;
    EXPECT_TRUE(Contains(refused.body, "message")) << query;
  }
  EXPECT_EQ(
      auditor.Request("GET", kCounts + "?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z").status,
      200)
      << "31 days is the most";

  // SECURITY: nothing the inventory or the counts answered holds the value
  // or key material.
  EXPECT_FALSE(Contains(bodies, canary));
  EXPECT_FALSE(Contains(bodies, "wrapped"));
  EXPECT_FALSE(Contains(AuditBytes(*server), canary));
}

TEST(UiSession, ABrowserSignsInReadsTheViewsApisAndSignsOut) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  AddUser(*server, "audrey", "Auditor", "*");

  HttpsClient browser = Browser(*server);
  HttpsResponse form = browser.Request("GET", kSession);
  ASSERT_EQ(form.status, 200);
  EXPECT_EQ(ParseBody(form)["signed_in"], false);
  const std::string login_cookie = form.headers["set-cookie"];
  EXPECT_EQ(CookieFromSetCookie(login_cookie, "sr_login_csrf"),
            ParseBody(form)["csrf_token"].get<std::string>());
  EXPECT_TRUE(Contains(login_cookie, "; Path=/api/ui/session; HttpOnly; Secure; SameSite=Strict"));

  SignedInBrowser audrey = SignIn(*server, "audrey", PasswordOf("audrey"));
  const std::string set_cookie = audrey.sign_in.response.headers["set-cookie"];
  EXPECT_TRUE(set_cookie.ends_with("; Path=/; HttpOnly; Secure; SameSite=Strict"));
  json signed_in = ParseBody(audrey.sign_in.response);
  EXPECT_EQ(signed_in["signed_in"], true);
  EXPECT_EQ(signed_in["user"], "audrey");
  EXPECT_EQ(signed_in["role"], "Auditor");
  EXPECT_EQ(signed_in["csrf_token"].get<std::string>().size(), 64u);
  EXPECT_EQ(signed_in["expires"].get<std::string>().size(), 27u);
  EXPECT_FALSE(Contains(audrey.sign_in.response.body, audrey.sign_in.session))
      << "the token travels only in the HttpOnly cookie";

  HttpsResponse who = audrey.client.Request("GET", kSession);
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ(ParseBody(who)["user"], "audrey");
  EXPECT_EQ(ParseBody(who)["csrf_token"], signed_in["csrf_token"]);
  EXPECT_EQ(Statuses(audrey.client, kViewReads), AllEqual(kViewReads, 200));

  // Signing out needs the session's CSRF token; then the cookie is dead.
  audrey.client.SetHeader("X-CSRF-Token", audrey.sign_in.login_csrf);
  EXPECT_EQ(audrey.client.Request("DELETE", kSession).status, 403);
  EXPECT_EQ(audrey.client.Request("GET", "/api/audit/verify").status, 200) << "still signed in";
  audrey.client.SetHeader("X-CSRF-Token", audrey.sign_in.csrf_token);
  HttpsResponse signed_out = audrey.client.Request("DELETE", kSession);
  EXPECT_EQ(signed_out.status, 204);
  EXPECT_TRUE(Contains(signed_out.headers["set-cookie"], "sr_session=; Path=/; Max-Age=0"));
  audrey.client.SetHeader("X-CSRF-Token", "");
  EXPECT_EQ(Statuses(audrey.client, kViewReads), AllEqual(kViewReads, 401));
  HttpsResponse dead = audrey.client.Request("GET", "/api/audit/events");
  EXPECT_FALSE(dead.headers.contains("www-authenticate")) << "no password prompt in a browser";
  EXPECT_EQ(ParseBody(audrey.client.Request("GET", kSession))["signed_in"], false);

  // Sign-in and sign-out are audited with their actor and outcome.
  std::vector<json> records = AuditRecords(*server);
  std::vector<json> created = WithAction(records, "ui.session.create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(Field(created[0], "/actor/name"), "audrey");
  EXPECT_EQ(Field(created[0], "/outcome/result"), "allowed");
  std::vector<json> deleted = WithAction(records, "ui.session.delete");
  ASSERT_EQ(deleted.size(), 2u) << "the refused and the accepted sign-out";
  EXPECT_EQ(Field(deleted[0], "/outcome/result"), "denied");
  EXPECT_EQ(Field(deleted[0], "/outcome/reason"), "invalid_csrf_token");
  EXPECT_EQ(Field(deleted[1], "/outcome/result"), "allowed");
  EXPECT_FALSE(Contains(AuditBytes(*server), audrey.sign_in.session));
  EXPECT_FALSE(Contains(AuditBytes(*server), PasswordOf("audrey")));
}

TEST(UiSession, TheCookieNeverCarriesAWriteAnAdminActionOrADecrypt) {
  ServerProcessOptions options;
  options.extra_policy_files["decrypt.json"] = kDecryptPolicy;
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  ASSERT_EQ(admin.Request("POST", SecureValues("team-a"), ValueBody("kept")).status, 201);
  const std::string id = AddUserWithId(*server, "tara", "Viewer", "team-a");
  ASSERT_FALSE(id.empty());
  // The bootstrap admin is a server admin: the strongest session there is.
  SignedInBrowser browser = SignIn(*server, "admin", server->admin_password());
  ASSERT_EQ(browser.client.Request("GET", kKeys).status, 200) << "the session is live";

  struct Call {
    std::string method, path, body;
  };
  const std::vector<Call> refused = {
      {"POST", SecureValues("team-a"), ValueBody("made-by-cookie")},
      {"PUT", SecureValue("team-a", "kept"), ValueBody("kept")},
      {"DELETE", SecureValue("team-a", "kept"), ""},
      {"GET", SecureValues("team-a"), ""},
      {"GET", SecureValue("team-a", "kept"), ""},
      {"POST", SecureValue("team-a", "kept") + "/decrypt", ""},
      {"GET", "/v1.0/secrets/team-a/kept", ""},
      {"POST", "/api/admin/encryption/rotate-data-keys", ""},
      {"POST", "/api/admin/encryption/rotate-kek", ""},
      {"POST", "/api/admin/users", R"({"login":"mallory","password":"mallory-pass-phrase"})"},
      {"DELETE", "/api/admin/users/" + id, ""},
      {"GET", "/api/admin/stats", ""},
      {"GET", "/api/admin/settings", ""},
      {"POST", "/api/admin/provisioning/access-control/reload", ""},
      {"GET", "/metrics", ""},
  };
  std::string got, expected;
  for (const Call& call : refused) {
    got += call.method + " " + call.path + "=" +
           std::to_string(browser.client.Request(call.method, call.path, call.body).status) + "\n";
    expected += call.method + " " + call.path + "=401\n";
  }
  EXPECT_EQ(got, expected) << "the cookie is ignored: the request is unauthenticated";

  // Nothing changed: the value, the user and the keys are as they were.
  EXPECT_EQ(admin.Request("GET", SecureValue("team-a", "kept")).status, 200);
  EXPECT_EQ(admin.Request("GET", SecureValue("team-a", "made-by-cookie")).status, 404);
  HttpsResponse keys = admin.Request("GET", kKeys);
  EXPECT_EQ(ParseBody(keys)["keks"].size(), 1u);
  EXPECT_EQ(ParseBody(keys)["rotations"], json::array());
  EXPECT_EQ(BasicClient(*server, "tara", PasswordOf("tara"))
                .Request("GET", SecureValues("team-a"))
                .status,
            200);
  // Even a service certificate beside the cookie decrypts as the service,
  // never as the session's user.
  HttpsClient service = server->CertClient(server->decrypter_cert());
  UseSession(service, browser.sign_in.session);
  EXPECT_EQ(service.Request("GET", kKeys).status, 200) << "a view read: the session's user";
  EXPECT_EQ(service.Request("POST", SecureValue("team-a", "kept") + "/decrypt").status, 403)
      << "kept's decrypters do not list demo-service";
}

TEST(UiSession, SignInRefusesWrongPasswordsViewersAndMissingCsrfTokensAndIsThrottled) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  AddUser(*server, "audrey", "Auditor", "*");
  AddUser(*server, "vic", "Viewer", "team-a");
  HttpsClient browser = Browser(*server);

  BrowserSignIn wrong = SignInAsBrowser(browser, "audrey", "not-her-password");
  EXPECT_EQ(wrong.response.status, 401) << wrong.response.body;
  EXPECT_FALSE(wrong.response.headers.contains("www-authenticate"));
  EXPECT_FALSE(wrong.response.headers.contains("set-cookie"));
  EXPECT_EQ(SignInAsBrowser(browser, "nobody", "whatever-password").response.status, 401);
  BrowserSignIn viewer = SignInAsBrowser(browser, "vic", PasswordOf("vic"));
  EXPECT_EQ(viewer.response.status, 403) << viewer.response.body;
  EXPECT_TRUE(Contains(viewer.response.body, "only Auditor and ServerAdmin users"));
  EXPECT_TRUE(viewer.session.empty());

  // The form's CSRF token: absent, not the cookie's, or not minted here.
  const std::string body = json{{"user", "audrey"}, {"password", PasswordOf("audrey")}}.dump();
  const std::string minted =
      ParseBody(browser.Request("GET", kSession))["csrf_token"].get<std::string>();
  const std::string other =
      ParseBody(browser.Request("GET", kSession))["csrf_token"].get<std::string>();
  const std::string forged(64, 'a');
  struct Attempt {
    std::string cookie, header;
  };
  for (const Attempt& attempt : std::vector<Attempt>{{"", ""},
                                                     {"sr_login_csrf=" + minted, ""},
                                                     {"", minted},
                                                     {"sr_login_csrf=" + minted, other},
                                                     {"sr_login_csrf=" + forged, forged}}) {
    browser.SetHeader("Cookie", attempt.cookie);
    browser.SetHeader("X-CSRF-Token", attempt.header);
    HttpsResponse refused = browser.Request("POST", kSession, body);
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_TRUE(Contains(refused.body, "X-CSRF-Token"));
  }
  browser.SetHeader("Cookie", "sr_login_csrf=" + minted);
  browser.SetHeader("X-CSRF-Token", minted);
  EXPECT_EQ(browser.Request("POST", kSession, body, "text/plain").status, 415);
  EXPECT_EQ(browser.Request("POST", kSession, R"({"user":"audrey"})").status, 400);
  EXPECT_EQ(browser.Request("POST", kSession, "not json").status, 400);
  EXPECT_EQ(browser.Request("POST", kSession, body).status, 200) << "the same token, right";

  // Throttling is Basic's, shared: after five wrong passwords for audrey
  // from this address the form must wait, and so must Basic auth (asked at
  // once, well inside the first one-second wait).
  long last = 0;
  for (int i = 0; i < 12 && last != 429; ++i) {
    last = SignInAsBrowser(browser, "audrey", "wrong-" + std::to_string(i)).response.status;
    EXPECT_TRUE(last == 401 || last == 429) << "attempt " << i << ": " << last;
    if (i < 5) {
      EXPECT_EQ(last, 401) << "five failures are free";
    }
  }
  ASSERT_EQ(last, 429) << "wrong passwords through the form were never throttled";
  HttpsClient basic = BasicClient(*server, "audrey", PasswordOf("audrey"));
  HttpsResponse throttled = basic.Request("GET", "/api/audit/verify");
  EXPECT_EQ(throttled.status, 429) << "the right password, but through Basic: the same throttle";
  EXPECT_FALSE(throttled.headers["retry-after"].empty());

  // The failures are coalesced records with their reasons; no password.
  std::vector<json> records = WaitForRecords(*server, [](const std::vector<json>& all) {
    return !Matching(all, [](const json& r) {
              return Field(r, "/outcome/reason") == "invalid_csrf_token";
            }).empty();
  });
  EXPECT_FALSE(Matching(records, [](const json& r) {
                 return Field(r, "/outcome/reason") == "invalid_password";
               }).empty());
  EXPECT_FALSE(Contains(AuditBytes(*server), "not-her-password"));
  EXPECT_FALSE(Contains(AuditBytes(*server), PasswordOf("audrey")));
}

TEST(UiSession, EndsWhenTheUserIsDeletedDemotedOrGivenANewPassword) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string audrey_id = AddUserWithId(*server, "audrey", "Auditor", "*");
  const std::string carol_id = AddUserWithId(*server, "carol", "Auditor", "*");
  const std::string sam_id = AddUserWithId(*server, "sam", "", "", true);
  ASSERT_FALSE(audrey_id.empty() || carol_id.empty() || sam_id.empty());
  SignedInBrowser audrey = SignIn(*server, "audrey", PasswordOf("audrey"));
  SignedInBrowser carol = SignIn(*server, "carol", PasswordOf("carol"));
  SignedInBrowser sam = SignIn(*server, "sam", PasswordOf("sam"));
  EXPECT_EQ(ParseBody(sam.sign_in.response)["role"], "ServerAdmin");
  for (SignedInBrowser* browser : {&audrey, &carol, &sam}) {
    ASSERT_EQ(browser->client.Request("GET", "/api/audit/verify").status, 200);
  }

  HttpsClient admin = server->AdminClient();
  ASSERT_EQ(admin
                .Request("PUT", "/api/admin/users/" + audrey_id + "/password",
                         json{{"password", PasswordOf("audrey-2")}}.dump())
                .status,
            200);
  ASSERT_EQ(admin.Request("DELETE", "/api/admin/users/" + carol_id).status, 200);
  ASSERT_EQ(admin
                .Request("PUT", "/api/admin/users/" + sam_id + "/permissions",
                         R"({"isGrafanaAdmin": false})")
                .status,
            200);
  EXPECT_EQ(audrey.client.Request("GET", "/api/audit/verify").status, 401) << "new password";
  EXPECT_EQ(carol.client.Request("GET", "/api/audit/verify").status, 401) << "deleted";
  EXPECT_EQ(sam.client.Request("GET", "/api/audit/verify").status, 401) << "demoted";
  // The new password signs in again.
  SignedInBrowser again = SignIn(*server, "audrey", PasswordOf("audrey-2"));
  EXPECT_EQ(again.client.Request("GET", "/api/audit/verify").status, 200);
}

TEST(UiSession, AMappedAdminCertificateIsSignedInWithoutACookie) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient certificate = server->CertClient(server->admin_cert());
  HttpsResponse who = certificate.Request("GET", kSession);
  ASSERT_EQ(who.status, 200) << who.body;
  json body = ParseBody(who);
  EXPECT_EQ(body["signed_in"], true);
  EXPECT_EQ(body["user"], "admin");
  EXPECT_EQ(body["role"], "ServerAdmin");
  EXPECT_EQ(body["via"], "certificate");
  EXPECT_FALSE(body.contains("csrf_token"));
  EXPECT_EQ(Statuses(certificate, kViewReads), AllEqual(kViewReads, 200));
  // A service's certificate is nobody's session.
  HttpsClient service = server->CertClient(server->decrypter_cert());
  EXPECT_EQ(ParseBody(service.Request("GET", kSession))["signed_in"], false);
}

}  // namespace
}  // namespace strongroom::testing_support

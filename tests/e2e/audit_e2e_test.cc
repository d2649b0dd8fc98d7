// The audit log of the real server (SPEC section 8, issue 5), end to end:
// one record per audited action with its actor, action, resource and
// outcome; coalesced authentication failures; no secret in any audit file;
// failing closed on a full disk and recovering without a restart; the
// auditor API; and a store rolled back behind the log refused at start.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using std::chrono::milliseconds;

const std::string kSv = "/securevalues/";

// SecretBody is a create/replace body for `name` holding `value`.
std::string SecretBody(const std::string& name, const std::string& value) {
  return ToBody({.name = name, .value = value});
}

// Sent is one request and the X-Request-Id its response carried.
struct Sent {
  long status;
  std::string request_id;
};

Sent Send(HttpsClient& client, const std::string& method, const std::string& path,
          const std::string& body = "") {
  HttpsResponse response = client.Request(method, path, body);
  EXPECT_FALSE(response.headers["x-request-id"].empty()) << method << " " << path;
  return {response.status, response.headers["x-request-id"]};
}

// ExpectOneRecord checks that exactly one event record carries the request's
// id and that it reads `expected` (see Describe); returns it.
nlohmann::json ExpectOneRecord(const std::vector<nlohmann::json>& records, const Sent& sent,
                               const std::string& expected) {
  std::vector<nlohmann::json> found = WithRequestId(records, sent.request_id);
  EXPECT_EQ(found.size(), 1u) << expected;
  if (found.size() != 1) return nlohmann::json::object();
  EXPECT_EQ(Describe(found[0]), expected);
  EXPECT_EQ(Field(found[0], "/actor/address"), "127.0.0.1") << expected;
  return found[0];
}

TEST(AuditE2e, EveryActionClassWritesExactlyOneRecordWithItsActorActionResourceAndOutcome) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  ASSERT_FALSE(public_key.empty());
  ASSERT_EQ(AddUser(*server, "vic", "Viewer", "team-a").exit_code, 0);
  const std::string token = IssueToken(*server, "admin", "ServerAdmin", "*");
  ASSERT_FALSE(token.empty());
  // Known values, to be searched for in the files at the end.
  const std::string value_1 = "audit-e2e-value-one-7c1f";
  const std::string value_2 = "audit-e2e-value-two-93be";
  const std::string value_3 = "audit-e2e-value-three-5d0a";

  HttpsClient basic = server->AdminClient();
  HttpsClient bearer = TokenClient(*server, token);
  HttpsClient viewer = BasicClient(*server, "vic", PasswordOf("vic"));
  const std::string ns = "team-a";
  struct Expectation {
    Sent sent;
    std::string describe;
    bool is_write;
  };
  std::vector<Expectation> expected;
  auto crud = [&](HttpsClient& client, const std::string& actor, const std::string& name,
                  const std::string& value, const std::string& replaced) {
    const std::string at = ns + kSv + name;
    expected.push_back({Send(client, "POST", SecureValues(ns), SecretBody(name, value)),
                        "secret.securevalues:create " + actor + " " + at + " allowed 201 ok",
                        true});
    expected.push_back({Send(client, "GET", SecureValue(ns, name)),
                        "secret.securevalues:read " + actor + " " + at + " allowed 200 ok", false});
    expected.push_back({Send(client, "GET", SecureValues(ns)),
                        "secret.securevalues:list " + actor + " " + ns + kSv + " allowed 200 ok",
                        false});
    expected.push_back({Send(client, "PUT", SecureValue(ns, name), SecretBody(name, replaced)),
                        "secret.securevalues:write " + actor + " " + at + " allowed 200 ok", true});
    expected.push_back({Send(client, "DELETE", SecureValue(ns, name)),
                        "secret.securevalues:delete " + actor + " " + at + " allowed 200 ok",
                        true});
  };
  crud(basic, "user/admin", "by-basic", value_1, value_2);
  crud(bearer, "token/admin", "by-token", value_3, value_1);
  expected.push_back({Send(viewer, "POST", SecureValues(ns), SecretBody("by-viewer", value_2)),
                      // A create is authorized before its body is read: like Kubernetes'
                      // audit, the record names the collection, not the name in the body.
                      "secret.securevalues:create user/vic " + ns + kSv + " denied 403 forbidden",
                      false});
  expected.push_back(
      {Send(basic, "GET", SecureValue(ns, "never-made")),
       "secret.securevalues:read user/admin " + ns + kSv + "never-made failed 404 not_found",
       false});
  expected.push_back({Send(basic, "POST", kRotateDataKeys),
                      "keys:rotate-data-keys user/admin /encryption/ allowed 204 ok", false});
  for (const Expectation& e : expected) ASSERT_NE(e.sent.status, 0) << e.describe;

  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  std::vector<nlohmann::json> records = WaitForRecords(
      *server, [](const auto& r) { return !WithAction(r, "policy.reload").empty(); });
  for (const Expectation& e : expected) {
    SCOPED_TRACE(e.describe);
    nlohmann::json record = ExpectOneRecord(records, e.sent, e.describe);
    EXPECT_EQ(record.contains("resource_version"), e.is_write) << record.dump();
    if (e.describe.starts_with("secret.securevalues:") &&
        e.describe.find(" token/") != e.describe.npos) {
      EXPECT_EQ(Field(record, "/actor/token_id"), TokenId(token));
    }
  }

  std::vector<nlohmann::json> reloads = WithAction(records, "policy.reload");
  ASSERT_EQ(reloads.size(), 1u);
  EXPECT_EQ(Field(reloads[0], "/actor/kind"), "system");
  EXPECT_EQ(Field(reloads[0], "/resource/kind"), "policies");
  EXPECT_EQ(Field(reloads[0], "/outcome/result"), "allowed");
  std::vector<nlohmann::json> starts = WithAction(records, "server.start");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(Field(starts[0], "/actor/kind"), "system");
  EXPECT_EQ(Field(starts[0], "/outcome/result"), "allowed");
  // The CLI's writes while the server ran: one record each, by the CLI.
  for (const std::string action : {"user:create", "token:create"}) {
    std::vector<nlohmann::json> cli = WithAction(records, action);
    ASSERT_EQ(cli.size(), 1u) << action;
    EXPECT_EQ(Field(cli[0], "/actor/kind"), "system") << action;
    EXPECT_TRUE(Field(cli[0], "/actor/name").starts_with("cli (")) << Describe(cli[0]);
    EXPECT_EQ(Field(cli[0], "/actor/address"), "local") << action;
    EXPECT_EQ(Field(cli[0], "/outcome/result"), "allowed") << action;
  }

  EXPECT_EQ(server->Stop(), 0);
  records = AuditRecords(*server);
  std::vector<nlohmann::json> stops = WithAction(records, "server.stop");
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(Field(stops[0], "/actor/kind"), "system");
  EXPECT_EQ(Field(records.back(), "/type"), "checkpoint") << "a clean stop seals the log";
  audit::VerifyReport report = VerifyOffline(*server, public_key);
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.pending, 0u) << report.Summary();

  // SECURITY: none of the secrets used above is in any audit file.
  const std::string bytes = AuditBytes(*server);
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"value one", value_1},
      {"value two", value_2},
      {"value three", value_3},
      {"admin password", server->admin_password()},
      {"vic's password", PasswordOf("vic")},
      {"API token", token},
      {"API token secret", token.substr(token.rfind('_') + 1)},
      {"user PIN", server->token().pin()},
      {"SO PIN", server->token().so_pin()},
  };
  for (const auto& [what, secret] : secrets) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << what << " appears in data/audit";
  }
  EXPECT_NE(bytes.find(TokenId(token)), std::string::npos) << "the token's public id is recorded";
}

// SendTwenty runs `send` 20 times and returns how long that took. The
// server coalesces failures per address and reason over one second from the
// first: 20 failures within a second make one record, and in general there
// are at most one record per started second.
std::chrono::milliseconds SendTwenty(const std::function<void(int)>& send) {
  const auto first = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) send(i);
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - first);
}

// Failures returns the authenticate records for `reason` and the sum of
// their counts.
std::pair<std::vector<nlohmann::json>, int> Failures(const std::vector<nlohmann::json>& records,
                                                     const std::string& reason) {
  std::vector<nlohmann::json> found = Matching(records, [&](const nlohmann::json& r) {
    return Field(r, "/action") == "authenticate" && Field(r, "/outcome/reason") == reason;
  });
  int sum = 0;
  for (const nlohmann::json& r : found) sum += r.value("count", 0);
  return {found, sum};
}

TEST(AuditE2e, TwentyAuthenticationFailuresFromOneAddressInOneSecondAreOneRecordWithACount) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  // Wrong passwords for 20 logins (one each: no login reaches its
  // throttle), then 20 well-formed tokens that were never issued.
  const std::string wrong = "wrong-password-guess-1234";
  const milliseconds passwords_took = SendTwenty([&](int i) {
    HttpsClient guesser = BasicClient(*server, "guess-" + std::to_string(i), wrong);
    EXPECT_EQ(ListStatus(guesser, "team-a"), 401) << "guess " << i;
  });
  const std::string never_issued = "srt_" + std::string(16, 'a') + "_" + std::string(64, 'b');
  const milliseconds tokens_took = SendTwenty([&](int i) {
    HttpsClient guesser = TokenClient(*server, never_issued);
    EXPECT_EQ(ListStatus(guesser, "team-a"), 401) << "token " << i;
  });
  std::vector<nlohmann::json> records = WaitForRecords(*server, [](const auto& r) {
    return Failures(r, "invalid_password").second >= 20 &&
           Failures(r, "invalid_token").second >= 20;
  });
  for (const auto& [reason, took] : {std::pair{std::string("invalid_password"), passwords_took},
                                     std::pair{std::string("invalid_token"), tokens_took}}) {
    SCOPED_TRACE(reason + ", sent in " + std::to_string(took.count()) + " ms");
    auto [found, sum] = Failures(records, reason);
    EXPECT_EQ(sum, 20);
    ASSERT_FALSE(found.empty());
    if (took < milliseconds(950)) {
      EXPECT_EQ(found.size(), 1u) << "20 failures within one second";
    } else {
      EXPECT_LE(found.size(), static_cast<std::size_t>(took / std::chrono::seconds(1)) + 1)
          << "at most one record per started second";
    }
    for (const nlohmann::json& r : found) {
      EXPECT_EQ(Field(r, "/outcome/result"), "denied");
      EXPECT_EQ(Field(r, "/outcome/status"), "401");
      EXPECT_EQ(Field(r, "/actor/kind"), "anonymous");
      EXPECT_EQ(Field(r, "/actor/address"), "127.0.0.1");
    }
  }
  // A login that keeps guessing is throttled: 429, recorded as such.
  HttpsClient persistent = BasicClient(*server, "persistent", wrong);
  std::vector<long> statuses;
  for (int i = 0; i < 6; ++i) statuses.push_back(ListStatus(persistent, "team-a"));
  EXPECT_EQ(statuses, (std::vector<long>{401, 401, 401, 401, 401, 429}));
  records = WaitForRecords(*server,
                           [](const auto& r) { return !Failures(r, "throttled").first.empty(); });
  auto [throttled, throttled_count] = Failures(records, "throttled");
  EXPECT_EQ(throttled_count, 1);
  ASSERT_EQ(throttled.size(), 1u);
  EXPECT_EQ(Field(throttled[0], "/outcome/status"), "429");

  const std::string bytes = AuditBytes(*server);
  EXPECT_EQ(bytes.find(wrong), std::string::npos) << "a guessed password";
  EXPECT_EQ(bytes.find(std::string(64, 'b')), std::string::npos) << "a presented token secret";
}

TEST(AuditE2e, AFullAuditDiskFailsWritesClosedAndServiceResumesWithoutARestart) {
  TempDir trigger_dir;
  const std::string trigger = trigger_dir.Join("disk-full");
  ServerProcessOptions options;
  options.extra_config_text = "[audit]\ntest_full_disk_trigger = \"" + trigger + "\"\n";
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  const std::string public_key = AuditPublicKey(*server);
  HttpsClient admin = server->AdminClient();
  HttpsClient probe(server->base_url(), server->ca_path());
  ASSERT_EQ(
      admin.Request("POST", SecureValues("team-a"), SecretBody("before", "v-before-1234")).status,
      201);

  ASSERT_TRUE(WriteFileBytes(trigger, "full"));
  HttpsResponse refused =
      admin.Request("POST", SecureValues("team-a"), SecretBody("refused", "v-refused-1234"));
  EXPECT_EQ(refused.status, 503) << refused.body;
  HttpsResponse ready = probe.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  // Booleans only since issue 16's review: the reason is in the log.
  EXPECT_NE(ready.body.find(R"("audit":false)"), std::string::npos) << ready.body;

  std::filesystem::remove(trigger);
  long ready_status = 0;
  for (int i = 0; i < 100 && ready_status != 200; ++i) {
    ready_status = probe.Request("GET", "/readyz").status;
    if (ready_status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(ready_status, 200) << "readiness returns without a restart";
  EXPECT_EQ(admin.Request("GET", SecureValue("team-a", "refused")).status, 404)
      << "the refused create was not committed";
  EXPECT_EQ(
      admin.Request("POST", SecureValues("team-a"), SecretBody("after", "v-after-1234")).status,
      201);
  EXPECT_EQ(admin.Request("GET", SecureValue("team-a", "before")).status, 200);
  std::vector<nlohmann::json> records = AuditRecords(*server);
  EXPECT_FALSE(WithAction(records, "audit.resumed").empty());
  EXPECT_TRUE(Matching(records,
                       [](const nlohmann::json& r) {
                         return Field(r, "/action") == "secret.securevalues:create" &&
                                Field(r, "/resource/name") == "refused" &&
                                Field(r, "/outcome/result") == "allowed";
                       })
                  .empty())
      << "no allowed record for the refused create";
  EXPECT_EQ(server->Stop(), 0);
  audit::VerifyReport report = VerifyOffline(*server, public_key);
  EXPECT_TRUE(report.ok) << report.Summary();
}

TEST(AuditE2e, AuditorsReadFilterAndVerifyTheLogAndOthersAreRefused) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "audrey", "Auditor", "*").exit_code, 0);
  ASSERT_EQ(AddUser(*server, "vic", "Viewer", "team-a").exit_code, 0);
  HttpsClient auditor = BasicClient(*server, "audrey", PasswordOf("audrey"));
  HttpsClient viewer = BasicClient(*server, "vic", PasswordOf("vic"));
  HttpsClient admin = server->AdminClient();
  for (int i = 0; i < 5; ++i) {
    const std::string name = "item-" + std::to_string(i);
    ASSERT_EQ(admin.Request("POST", SecureValues("team-a"), SecretBody(name, "v-" + name + "-xyz"))
                  .status,
              201);
  }
  ASSERT_EQ(
      admin.Request("POST", SecureValues("team-b"), SecretBody("other", "v-other-xyz")).status,
      201);
  EXPECT_EQ(viewer.Request("POST", SecureValues("team-a"), SecretBody("no", "v-no-xyz")).status,
            403);

  for (const std::string path :
       {"/api/audit/events", "/api/audit/public-key", "/api/audit/verify"}) {
    EXPECT_EQ(auditor.Request("GET", path).status, 200) << path;
    EXPECT_EQ(viewer.Request("GET", path).status, 403) << path;
    HttpsClient anonymous(server->base_url(), server->ca_path());
    EXPECT_EQ(anonymous.Request("GET", path).status, 401) << path;
  }
  HttpsResponse key = auditor.Request("GET", "/api/audit/public-key");
  EXPECT_TRUE(key.body.starts_with("-----BEGIN PUBLIC KEY-----"));
  EXPECT_EQ(key.headers["x-strongroom-key-sha256"].size(), 64u);

  // Filters: action + namespace, outcome, actor.
  auto events = [&](const std::string& query) {
    HttpsResponse response = auditor.Request("GET", "/api/audit/events?" + query);
    EXPECT_EQ(response.status, 200) << query << ": " << response.body;
    return nlohmann::json::parse(response.body, nullptr, false);
  };
  nlohmann::json creates = events("action=secret.securevalues:create&namespace=team-a");
  ASSERT_TRUE(creates["records"].is_array());
  int allowed_creates = 0;
  for (const nlohmann::json& r : creates["records"]) {
    EXPECT_EQ(Field(r, "/resource/namespace"), "team-a");
    EXPECT_EQ(Field(r, "/action"), "secret.securevalues:create");
    if (Field(r, "/outcome/result") == "allowed") ++allowed_creates;
  }
  EXPECT_EQ(allowed_creates, 5);
  EXPECT_EQ(creates["records"].size(), 6u) << "five allowed and vic's denied create";
  nlohmann::json denied = events("outcome=denied");
  ASSERT_EQ(denied["records"].size(), 4u) << "vic's create and three reads: " << denied.dump();
  for (const nlohmann::json& r : denied["records"]) EXPECT_EQ(Field(r, "/actor/name"), "vic");
  nlohmann::json denied_creates = events("outcome=denied&action=secret.securevalues:create");
  EXPECT_EQ(denied_creates["records"].size(), 1u) << denied_creates.dump();
  nlohmann::json by_vic = events("actor=vic");
  for (const nlohmann::json& r : by_vic["records"]) EXPECT_EQ(Field(r, "/actor/name"), "vic");
  EXPECT_FALSE(by_vic["records"].empty());
  EXPECT_EQ(auditor.Request("GET", "/api/audit/events?outcome=maybe").status, 400);
  EXPECT_EQ(auditor.Request("GET", "/api/audit/events?limit=0").status, 400);
  EXPECT_EQ(auditor.Request("GET", "/api/audit/events?since=yesterday").status, 400);

  // Pagination: pages of 2 walk the allowed creates in order, no gaps, no
  // repeats.
  std::vector<std::string> walked;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    nlohmann::json got = events("action=secret.securevalues:create&outcome=allowed&limit=2" +
                                (cursor.empty() ? "" : "&continue=" + cursor));
    EXPECT_LE(got["records"].size(), 2u);
    for (const nlohmann::json& r : got["records"]) walked.push_back(Field(r, "/resource/name"));
    if (!got.contains("continue")) break;
    cursor = got["continue"].get<std::string>();
  }
  EXPECT_EQ(walked,
            (std::vector<std::string>{"item-0", "item-1", "item-2", "item-3", "item-4", "other"}));

  HttpsResponse verified = auditor.Request("GET", "/api/audit/verify");
  nlohmann::json summary = nlohmann::json::parse(verified.body, nullptr, false);
  EXPECT_EQ(summary.value("ok", false), true) << verified.body;
  EXPECT_GT(summary.value("records", 0), 10) << verified.body;

  // Cutting the last record while the server runs is tampering (SPEC 8):
  // the log stops for good, so even the auditor's request, which must be
  // audited, gets 503, and readiness names the audit log.
  const std::string current = AuditDir(*server) + "/current.jsonl";
  std::string bytes = ReadWhole(current);
  ASSERT_TRUE(bytes.ends_with("\n"));
  const std::size_t last_line = bytes.rfind('\n', bytes.size() - 2);
  ASSERT_NE(last_line, std::string::npos);
  std::filesystem::resize_file(current, last_line + 1);
  verified = auditor.Request("GET", "/api/audit/verify");
  EXPECT_EQ(verified.status, 503) << verified.body;
  HttpsClient probe(server->base_url(), server->ca_path());
  HttpsResponse ready = probe.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  // The anonymous body says only that the log is unusable, not why
  // (issue 16's review); the reason is in the log and in
  // strongroom_audit_tampered.
  EXPECT_NE(ready.body.find(R"("audit":false)"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("altered outside Strongroom"), std::string::npos) << ready.body;
  EXPECT_EQ(ReadWhole(current).size(), last_line + 1) << "nothing is written after the cut";
}

TEST(AuditE2e, AStoreRolledBackBehindTheLogIsRefusedAtStartAndRestoreIsTheWayBack) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  ASSERT_EQ(admin.Request("POST", SecureValues("team-a"), SecretBody("old", "v-old-12345")).status,
            201);
  TempDir backups;
  const std::string backup = backups.Join("b1");
  ServerProcess::CliResult backed_up = server->RunCli({"backup", "--to", backup});
  ASSERT_EQ(backed_up.exit_code, 0) << backed_up.err;
  ASSERT_EQ(admin.Request("POST", SecureValues("team-a"), SecretBody("new", "v-new-12345")).status,
            201);
  ASSERT_EQ(server->Stop(), 0);

  // An operator (or an attacker) copies the older store over the live one.
  std::filesystem::copy_file(backup + "/data.mdb", server->data_dir() + "/store/data.mdb",
                             std::filesystem::copy_options::overwrite_existing);
  ServerProcess::CliResult refused =
      server->RunCli({"serve", "--config", server->dir() + "/strongroom.toml"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("rolled back"), std::string::npos) << refused.err;

  // A deliberate restore is recorded and sealed, so the next start accepts it.
  ServerProcess::CliResult restored = server->RunCli({"restore", "--from", backup});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  ASSERT_EQ(server->Restart(), 0);
  HttpsClient after = server->AdminClient();
  EXPECT_EQ(after.Request("GET", SecureValue("team-a", "old")).status, 200);
  EXPECT_EQ(after.Request("GET", SecureValue("team-a", "new")).status, 404);
  EXPECT_EQ(WithAction(AuditRecords(*server), "store.restore").size(), 1u);
}

}  // namespace
}  // namespace strongroom::testing_support

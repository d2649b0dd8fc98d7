// A named node and cursors valid on every node (issue 18), end to end: the
// real `strongroom` binary over real TLS with real SoftHSM tokens.
//  - `[cluster] node_name` names every record of the server's log (and the
//    CLI's records beside it); the auditor API says which node answers;
//  - `strongroom audit verify` takes several logs, one line each with its
//    node, exit non-zero when any fails;
//  - a [cluster] section naming an etcd that cannot be reached makes serve
//    exit at start with one clear line (it never serves single-node);
//  - a `continue` token stays valid after a restart (the key is derived from
//    the record-MAC key, as every node of one token and store derives it),
//    and one from another appliance's token is 400.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/shell_command.h"

namespace strongroom::testing_support {
namespace {

constexpr char kNodeOne[] = "[cluster]\nnode_name = \"node-1\"\n";

nlohmann::json GetJson(HttpsClient& client, const std::string& path) {
  HttpsResponse response = client.Request("GET", path);
  EXPECT_EQ(response.status, 200) << path << ": " << response.body;
  return nlohmann::json::parse(response.body, nullptr, false);
}

// WritePem writes `pem` to `dir`/audit-key.pem and returns the path.
std::string WritePem(const ServerProcess& server, const std::string& pem) {
  const std::string path = server.dir() + "/audit-key.pem";
  EXPECT_TRUE(WriteFileBytes(path, pem));
  return path;
}

ShellResult VerifyLogs(const std::string& key_file, const std::vector<std::string>& dirs,
                       const std::string& extra = "") {
  std::string line =
      std::string(STRONGROOM_BINARY) + " audit verify --public-key '" + key_file + "'";
  for (const std::string& dir : dirs) line += " --log '" + dir + "'";
  return RunShell(line + " " + extra + " 2>&1");
}

TEST(NodeE2e, ANamedNodeAuditsEveryRecordAsItselfAndItsAuditorApiSaysSo) {
  auto server = ServerProcess::Start({.extra_config_text = kNodeOne});
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  ASSERT_EQ(
      admin.Request("POST", Collection("n1"), ToBody({.name = "a", .value = "v-a-123"})).status,
      201);
  // The CLI writes into the running server's log: it continues the log's
  // node name (it reads no configuration).
  auto issued = server->RunCli(
      {"token", "create", "--user", "admin", "--role", "Viewer", "--namespace", "n1"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  // `strongroom init` (which reads no configuration) wrote the log's first
  // records unnamed; the server names it from its start on.
  std::vector<nlohmann::json> records = AuditRecords(*server);
  ASSERT_GT(records.size(), 3u);
  std::size_t named = records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (Field(records[i], "/action") == "audit.node.named") named = std::min(named, i);
  }
  ASSERT_LT(named, records.size()) << "no audit.node.named record";
  EXPECT_EQ(Field(records[named], "/details/node"), "node-1");
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(Field(records[i], "/node"), i < named ? "" : "node-1") << Describe(records[i]);
  }
  bool cli_record = false;
  for (std::size_t i = named; i < records.size(); ++i) {
    cli_record |= Field(records[i], "/action") == "token:create";
  }
  EXPECT_TRUE(cli_record) << "the CLI's token:create record is named like the server's";
  nlohmann::json events = GetJson(admin, "/api/audit/events?limit=5");
  EXPECT_EQ(events.value("node", "?"), "node-1");
  nlohmann::json verified = GetJson(admin, "/api/audit/verify");
  EXPECT_EQ(verified.value("node", "?"), "node-1");
  EXPECT_TRUE(verified.value("ok", false)) << verified.dump();
  EXPECT_EQ(GetJson(admin, "/api/audit/counts").value("node", "?"), "node-1");
  const std::string key_file = WritePem(*server, AuditPublicKey(*server));
  ASSERT_EQ(server->Stop(), 0);

  // Several logs, one line each; a failing one makes the exit non-zero.
  const std::string copy = server->dir() + "/copy-of-node-1";
  std::filesystem::copy(AuditDir(*server), copy, std::filesystem::copy_options::recursive);
  ShellResult both = VerifyLogs(key_file, {AuditDir(*server), copy});
  EXPECT_EQ(both.exit_code, 0) << both.out;
  EXPECT_NE(both.out.find(AuditDir(*server) + ": OK records="), std::string::npos) << both.out;
  EXPECT_NE(both.out.find(copy + ": OK records="), std::string::npos) << both.out;
  EXPECT_NE(both.out.find(" node=node-1\n"), std::string::npos) << both.out;
  const std::string current = copy + "/current.jsonl";
  std::string text = ReadFileBytes(current);
  const std::size_t at = text.find("\"node\":\"node-1\"", text.size() / 2);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 15, "\"node\":\"node-2\"");
  ASSERT_TRUE(WriteFileBytes(current, text));
  ShellResult one_bad = VerifyLogs(key_file, {AuditDir(*server), copy});
  EXPECT_NE(one_bad.exit_code, 0) << one_bad.out;
  EXPECT_NE(one_bad.out.find(AuditDir(*server) + ": OK records="), std::string::npos)
      << one_bad.out;
  EXPECT_NE(one_bad.out.find(copy + ": FAIL seq="), std::string::npos) << one_bad.out;
  EXPECT_NE(one_bad.out.find("1 of 2 audit logs do not verify"), std::string::npos) << one_bad.out;
  ShellResult head =
      VerifyLogs(key_file, {AuditDir(*server), copy}, "--expect-head 3:" + std::string(64, 'a'));
  EXPECT_NE(head.exit_code, 0) << head.out;
  EXPECT_NE(head.out.find("--expect-head names one log's head"), std::string::npos) << head.out;
}

TEST(NodeE2e, AClusterSectionNamingUnreachableEtcdStopsTheStartWithOneLine) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Stop(), 0);
  const std::string config = server->dir() + "/replicated.toml";
  // Real certificate files; nothing listens on port 1.
  const IssuedCertificate& client = server->admin_cert();
  ASSERT_TRUE(WriteFileBytes(
      config, ReadFileBytes(server->dir() + "/strongroom.toml") +
                  "\n[cluster]\nnode_name = \"node-1\"\nendpoints = [\"https://127.0.0.1:1\"]\n"
                  "ca_file = \"" +
                  server->ca_path() + "\"\ncert_file = \"" + client.cert_path +
                  "\"\nkey_file = \"" + client.key_path + "\"\ncall_timeout_ms = 500\n"));
  ShellResult refused =
      RunShell(std::string(STRONGROOM_BINARY) + " serve --config '" + config + "' 2>&1");
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.out.find(
                "strongroom: unavailable: [cluster]: cannot join the replicated store in etcd"),
            std::string::npos)
      << refused.out;
  EXPECT_NE(refused.out.find("is etcd running and reachable"), std::string::npos) << refused.out;
  // It never served: no port was written by this start.
  EXPECT_EQ(refused.out.find("\"serving\""), std::string::npos) << refused.out;
}

TEST(NodeE2e, AContinueTokenStaysValidAfterARestartAndAnotherTokensIs400) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  SecretLedger ledger;
  ledger.Remember("v-page-123");
  Api admin(server->CertClient(server->admin_cert()), &ledger);
  for (const char* name : {"p-1", "p-2", "p-3"}) {
    ASSERT_EQ(admin.Create("pages", {.name = name, .value = "v-page-123"}).status, 201);
  }
  HttpsResponse first = admin.List("pages", "?limit=1");
  ASSERT_EQ(first.status, 200) << admin.Shown(first);
  const std::string token = Str(Parse(first.body), "/metadata/continue");
  ASSERT_FALSE(token.empty()) << first.body;
  // The same token and store after a restart: as another node would be.
  ASSERT_EQ(server->Restart(), 0);
  Api again(server->CertClient(server->admin_cert()), &ledger);
  HttpsResponse second = again.List("pages", "?limit=1&continue=" + token);
  ASSERT_EQ(second.status, 200) << again.Shown(second);
  EXPECT_EQ(Str(Parse(second.body), "/items/0/metadata/name"), "p-2") << second.body;
  // Another appliance (its own token, its own record-MAC key).
  auto other = ServerProcess::Start();
  ASSERT_NE(other, nullptr);
  Api elsewhere(other->CertClient(other->admin_cert()), &ledger);
  for (const char* name : {"p-1", "p-2"}) {
    ASSERT_EQ(elsewhere.Create("pages", {.name = name, .value = "v-page-123"}).status, 201);
  }
  HttpsResponse foreign = elsewhere.List("pages", "?limit=1");
  const std::string foreign_token = Str(Parse(foreign.body), "/metadata/continue");
  ASSERT_FALSE(foreign_token.empty()) << foreign.body;
  again.ExpectFailure(again.List("pages", "?limit=1&continue=" + foreign_token), 400, "BadRequest",
                      "a continue token from another appliance");
}

}  // namespace
}  // namespace strongroom::testing_support

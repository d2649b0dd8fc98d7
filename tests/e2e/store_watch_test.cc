// Records put back into data.mdb while the real server runs (issue 16):
// an attacker who can write the data directory copies a record's stored
// bytes (value and MAC, valid once) aside, lets Strongroom delete it, and
// writes the bytes back through liblmdb from another process. The server
// must refuse the record on its first read. Honest CLI writes while the
// server runs (SPEC 5) must keep working: the server accepts them because
// the audit log adopted their verified, sealed records.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

// StoreTool runs tests/storage/store_tool (raw liblmdb, as the attacker)
// on the server's store; record bytes go through `file`, never output.
bool StoreTool(const std::string& verb, const ServerProcess& server, const std::string& db,
               const std::string& key, const std::string& file) {
  ShellResult result = RunShell(std::string(SR_STORE_TOOL) + " " + verb + " '" +
                                server.data_dir() + "' " + db + " '" + key + "' '" + file +
                                "' 2>&1");
  EXPECT_EQ(result.exit_code, 0) << verb << " " << db << " " << key << ": " << result.out;
  return result.exit_code == 0;
}

TEST(StoreWatchE2e, ADeletedSecureValuePutBackIsRefusedOnItsFirstRead) {
  ServerProcessOptions options;
  options.extra_policy_files["decrypt.json"] =
      R"({"bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "team-a"}]})";
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->AdminClient();
  HttpsClient service = server->CertClient(server->decrypter_cert());
  ASSERT_EQ(admin.Request("POST", SecureValues("team-a"),
                          ToBody({.name = "db", .value = "v-db-123456", .decrypters = {"demo-service"}}))
                .status,
            201);
  const std::string decrypt = SecureValue("team-a", "db") + "/decrypt";
  ASSERT_EQ(service.Request("POST", decrypt, "").status, 200);
  TempDir scratch;
  ASSERT_TRUE(StoreTool("save", *server, "secure_values", "team-a/db", scratch.Join("db")));
  ASSERT_EQ(admin.Request("DELETE", SecureValue("team-a", "db")).status, 200);
  ASSERT_EQ(admin.Request("GET", SecureValue("team-a", "db")).status, 404);

  ASSERT_TRUE(StoreTool("restore", *server, "secure_values", "team-a/db", scratch.Join("db")));
  EXPECT_EQ(admin.Request("GET", SecureValue("team-a", "db")).status, 500)
      << "a record put back under the server is refused on its first read";
  EXPECT_NE(service.Request("POST", decrypt, "").status, 200) << "and is never decrypted";
  EXPECT_EQ(server->Stop(), 0);
}

TEST(StoreWatchE2e, AUserDeletedByTheCliAndPutBackIsRefusedWhileHonestCliWritesWork) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  // An honest CLI write while the server runs is accepted.
  ASSERT_EQ(AddUser(*server, "carol", "Viewer", "team-a").exit_code, 0);
  HttpsClient carol(server->base_url(), server->ca_path());
  carol.SetBasicAuth("carol", PasswordOf("carol"));
  ASSERT_EQ(carol.Request("GET", SecureValues("team-a")).status, 200);
  TempDir scratch;
  ASSERT_TRUE(StoreTool("save", *server, "users", "carol", scratch.Join("carol")));
  ASSERT_EQ(server->RunCli({"user", "del", "carol"}).exit_code, 0);
  EXPECT_EQ(carol.Request("GET", SecureValues("team-a")).status, 401);
  HttpsClient admin = server->AdminClient();
  EXPECT_EQ(admin.Request("GET", SecureValues("team-a")).status, 200)
      << "the server still serves after the CLI's writes";

  ASSERT_TRUE(StoreTool("restore", *server, "users", "carol", scratch.Join("carol")));
  EXPECT_NE(carol.Request("GET", SecureValues("team-a")).status, 200)
      << "a deleted user put back under the server never signs in";
  EXPECT_EQ(server->Stop(), 0);
}

// Start-up verifies the whole store after the server is ready (issue 19):
// a record whose MAC is wrong, planted while the server was stopped, turns
// it not ready for good, and nothing is signed past the failure.
TEST(StoreWatchE2e, ARecordWithAWrongMacTurnsTheRestartedServerNotReadyAndUnsigned) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->AdminClient()
                .Request("POST", SecureValues("team-a"), ToBody({.name = "db", .value = "v-db-1"}))
                .status,
            201);
  ASSERT_EQ(server->Stop(), 0);
  TempDir scratch;
  ASSERT_TRUE(StoreTool("save", *server, "secure_values", "team-a/db", scratch.Join("db")));
  std::string stored = ReadFileBytes(scratch.Join("db"));
  ASSERT_FALSE(stored.empty());
  stored.back() = static_cast<char>(stored.back() ^ 0x01);
  ASSERT_TRUE(WriteFileBytes(scratch.Join("db"), stored));
  ASSERT_TRUE(StoreTool("restore", *server, "secure_values", "team-a/db", scratch.Join("db")));
  const std::string current = AuditDir(*server) + "/current.jsonl";
  const std::string before = ReadWhole(current);

  ASSERT_EQ(server->RestartListening(), 0);
  EXPECT_EQ(WaitForReadiness(*server, 503), 503) << "not ready once the store check failed";
  EXPECT_NE(server->AdminClient()
                .Request("POST", SecureValues("team-a"), ToBody({.name = "x", .value = "v-x-1"}))
                .status,
            201);
  EXPECT_NE(server->stderr_text().find("start-up verification failed"), std::string::npos);
  server->Stop();
  const std::string after = ReadWhole(current);
  EXPECT_TRUE(after.starts_with(before));
  EXPECT_TRUE(NoCheckpointAfter(after, before.size())) << "nothing is signed past the failure";
}

}  // namespace
}  // namespace strongroom::testing_support

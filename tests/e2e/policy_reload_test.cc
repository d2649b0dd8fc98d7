// Policy files at start and at reload (SPEC 7): a malformed file is refused
// with file, line and reason; on reload (SIGHUP) the old policy is kept.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

const char* kListPath = "/apis/secret.grafana.app/v1beta1/namespaces/team-a/securevalues";

// ListStatusAs lists team-a as bob with a fresh connection.
long ListStatusAs(const ServerProcess& server, const std::string& password) {
  HttpsClient client(server.base_url(), server.ca_path());
  client.SetBasicAuth("bob", password);
  return client.Request("GET", kListPath).status;
}

// WaitForStatus polls (at most ~5 s) until bob's list answers `expected`.
long WaitForStatus(const ServerProcess& server, const std::string& password, long expected) {
  long status = 0;
  for (int i = 0; i < 50; ++i) {
    status = ListStatusAs(server, password);
    if (status == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

TEST(PolicyReload, SighupLoadsNewBindingsAndKeepsTheOldPolicyWhenAFileIsMalformed) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string password = "bob-password-123";
  auto added = server->RunCli({"user", "add", "bob"}, password + "\n");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(ListStatusAs(*server, password), 403);

  ASSERT_TRUE(WriteFileBytes(
      server->policy_dir() + "/team.json",
      R"({"bindings": [{"user": "bob", "role": "Viewer", "namespace": "team-a"}]})"));
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_EQ(WaitForStatus(*server, password, 200), 200);

  ASSERT_TRUE(WriteFileBytes(server->policy_dir() + "/broken.json",
                             "{\n  \"bindings\": [\n    {\"user\": }\n  ]\n}\n"));
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  std::string log;
  for (int i = 0; i < 50 && log.find("policy reload refused") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = server->stderr_text();
  }
  EXPECT_NE(log.find("policy reload refused"), std::string::npos);
  EXPECT_NE(log.find("broken.json:3"), std::string::npos) << log;
  EXPECT_EQ(ListStatusAs(*server, password), 200);  // the previous policy still applies
  EXPECT_EQ(server->Stop(), 0);
}

TEST(PolicyReload, AMalformedFileIsRefusedAtStartWithFileLineAndReason) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(server->Stop(), 0);
  ASSERT_TRUE(WriteFileBytes(server->policy_dir() + "/roles-bad.json",
                             "{\n  \"roles\": [\n    {\"name\": \"X\", \"permissions\": "
                             "[{\"action\": \"no:such\", \"scope\": \"*\"}]}\n  ]\n}\n"));
  auto started = server->RunCli({"serve", "--config", server->dir() + "/strongroom.toml"});
  EXPECT_EQ(started.exit_code, 1);
  EXPECT_NE(started.err.find("roles-bad.json:3"), std::string::npos) << started.err;
  EXPECT_NE(started.err.find("no:such"), std::string::npos) << started.err;
}

}  // namespace
}  // namespace strongroom::testing_support

// Self-test of ServerProcess (tests/support/server_process.h) against the
// real `strongroom` binary: it starts, is ready over TLS, keeps HTTP/1.1
// connections open (SPEC 10), restarts on the same data and stops cleanly.
#include "tests/support/server_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

namespace strongroom::testing_support {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ServerProcess, StartsAndStopsTheRealServer) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->base_url(), "https://127.0.0.1:" + std::to_string(server->port()));

  HttpsClient admin = server->AdminClient();
  HttpsResponse ready = admin.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.error << ready.body;
  HttpsResponse live = admin.Request("GET", "/livez");
  EXPECT_EQ(live.status, 200) << live.error << live.body;
  EXPECT_EQ(admin.new_connections(), 1) << "the server closed a keep-alive connection";

  HttpsClient service = server->CertClient(server->decrypter_cert());
  EXPECT_EQ(service.Request("GET", "/livez").status, 200);

  ASSERT_EQ(server->Restart(), 0);
  EXPECT_EQ(server->AdminClient().Request("GET", "/readyz").status, 200);

  EXPECT_EQ(server->Stop(), 0) << server->stderr_text();
  EXPECT_EQ(server->pid(), -1);
  EXPECT_NE(server->stderr_text(), "");
  EXPECT_THAT(server->stderr_text(), Not(HasSubstr(server->admin_password())));
}

TEST(ServerProcess, RunCliChangesTheStoreTheServerUses) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string path = "/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues";
  HttpsClient alice(server->base_url(), server->ca_path());
  alice.SetBasicAuth("alice", "correct-horse-battery");
  EXPECT_EQ(alice.Request("GET", path).status, 401);

  ServerProcess::CliResult added =
      server->RunCli({"user", "add", "alice", "--role", "Viewer", "--namespace", "default",
                      "--policy-dir", server->policy_dir()},
                     "correct-horse-battery\n");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  HttpsResponse listed = alice.Request("GET", path);
  EXPECT_EQ(listed.status, 200) << listed.error << listed.body;

  ServerProcess::CliResult unknown = server->RunCli({"no-such-command"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err, "");
}

TEST(ServerProcess, StartReportsAServerThatDoesNotComeUp) {
  EXPECT_NONFATAL_FAILURE(
      {
        ServerProcessOptions options;
        options.extra_config_lines = {"no_such_limit = 1"};
        EXPECT_EQ(ServerProcess::Start(options), nullptr);
      },
      "before it was ready");
}

}  // namespace
}  // namespace strongroom::testing_support

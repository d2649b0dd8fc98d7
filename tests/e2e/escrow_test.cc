// M-of-N KEK escrow end to end (issue 22): the real binary and SoftHSM.
// init with escrow (3 officers, threshold 2), secrets written over the API,
// the token directory deleted entirely, a new token made with
// softhsm2-util, one share refused, two shares recover: every secret
// decrypts byte for byte and `strongroom audit verify` passes across the
// recovery with the old and the new audit keys pinned.
//
// SECURITY: the values are test values, never printed; the PINs reach
// softhsm2-util on its command line, as the TestToken fixture does.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

namespace fs = std::filesystem;

const std::string kNs = "team-a";
const std::string kPolicy = R"({
  "bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "team-a"}]
})";

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// ShareFiles lists the share files in `dir`, sorted (share 1, 2, 3).
std::vector<std::string> ShareFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Decrypt returns the value of `name` as the decrypter service sees it
// ("" with a failure recorded when it is not 200).
std::string Decrypt(const ServerProcess& server, const std::string& name) {
  HttpsResponse r = server.CertClient(server.decrypter_cert())
                        .Request("POST", SecureValue(kNs, name) + "/decrypt", "{}");
  EXPECT_EQ(r.status, 200) << name;
  if (r.status != 200) return "";
  return nlohmann::json::parse(r.body).value("value", "");
}

// RemakeToken deletes the token directory entirely and makes a new, empty
// token with the same label and PINs in its place.
void RemakeToken(TestToken& token) {
  const std::string tokens = token.dir() + "/tokens";
  fs::remove_all(tokens);
  ASSERT_FALSE(fs::exists(tokens));
  fs::create_directory(tokens);
  fs::permissions(tokens, fs::perms::owner_all);
  ShellResult made =
      RunShell("env SOFTHSM2_CONF=" + Quoted(token.conf_path()) +
               " softhsm2-util --init-token --free --label " + Quoted(token.label()) + " --pin " +
               Quoted(token.pin()) + " --so-pin " + Quoted(token.so_pin()) + " >/dev/null 2>&1");
  ASSERT_EQ(made.exit_code, 0);
}

ShellResult Verify(const ServerProcess& server, const std::string& pinned) {
  return RunShell(std::string(STRONGROOM_BINARY) + " audit verify --require-sealed --log " +
                  Quoted(AuditDir(server)) + " " + pinned + " 2>&1");
}

TEST(EscrowE2e, TwoOfThreeSharesRecoverEverySecretIntoANewTokenAndTheAuditLogVerifiesAcross) {
  TempDir work;
  const std::string shares_dir = work.Join("shares");
  fs::create_directory(shares_dir);
  const std::string so_pin_file = work.Join("so-pin");

  ServerProcessOptions options;
  options.extra_policy_files["escrow.json"] = kPolicy;
  options.init_extra_args = {"--escrow-officers",   "3",        "--escrow-threshold", "2",
                             "--escrow-shares-dir", shares_dir, "--so-pin-file",      so_pin_file};
  // The token (and so its random SO PIN) is made inside Start, before init.
  options.token_ready = [&](const TestToken& token) {
    return WriteFileBytes(so_pin_file, token.so_pin(), 0600);
  };
  std::unique_ptr<ServerProcess> server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  std::vector<std::string> shares = ShareFiles(shares_dir);
  ASSERT_EQ(shares.size(), 3u);

  std::vector<std::pair<std::string, std::string>> secrets;
  for (int i = 0; i < 5; ++i) {
    std::string value = "escrowed-value-" + std::to_string(i) +
                        std::string(static_cast<std::size_t>(i) * 37, 'x') + "\xc3\xa9";
    secrets.emplace_back("secret-" + std::to_string(i), value);
    HttpsResponse created = server->CertClient(server->admin_cert())
                                .Request("POST", SecureValues(kNs),
                                         ToBody({.name = secrets.back().first, .value = value}));
    ASSERT_EQ(created.status, 201) << created.body;
  }
  for (const auto& [name, value] : secrets) EXPECT_EQ(Decrypt(*server, name), value);
  const std::string old_key = AuditPublicKey(*server);
  ASSERT_FALSE(old_key.empty());
  ASSERT_TRUE(WriteFileBytes(work.Join("old.pem"), old_key, 0600));
  ASSERT_EQ(server->Stop(), 0);

  // The token is lost: its directory is gone, a new empty token replaces it.
  RemakeToken(server->token());
  ServerProcess::CliResult listed = server->RunCli({"keys", "list"});
  EXPECT_NE(listed.exit_code, 0) << "the store cannot be opened without its KEK";

  // One share recovers nothing and changes nothing.
  ServerProcess::CliResult one = server->RunCli({"escrow", "recover", "--share", shares[1]});
  EXPECT_NE(one.exit_code, 0);
  EXPECT_NE(one.err.find("needs 2 different shares"), std::string::npos) << one.err;
  // A share given twice is not two shares.
  ServerProcess::CliResult twice =
      server->RunCli({"escrow", "recover", "--share", shares[1], "--share", shares[1]});
  EXPECT_NE(twice.exit_code, 0);

  ServerProcess::CliResult recovered =
      server->RunCli({"escrow", "recover", "--share", shares[0], "--share", shares[2],
                      "--so-pin-file", so_pin_file});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_NE(recovered.out.find("from shares 1,3"), std::string::npos) << recovered.out;

  ASSERT_EQ(server->Restart(), 0);
  for (const auto& [name, value] : secrets) {
    std::string got = Decrypt(*server, name);
    EXPECT_TRUE(got == value) << name << " does not decrypt to its value byte for byte";
  }
  // The store keeps working: a new secret is sealed and decrypts.
  HttpsResponse later =
      server->CertClient(server->admin_cert())
          .Request("POST", SecureValues(kNs), ToBody({.name = "after", .value = "after-value"}));
  EXPECT_EQ(later.status, 201) << later.body;
  EXPECT_EQ(Decrypt(*server, "after"), "after-value");
  // A KEK rotated after the recovery is escrowed too (the new token's SO
  // trusts the escrow key again).
  HttpsResponse rotated = server->CertClient(server->admin_cert())
                              .Request("POST", "/api/admin/encryption/rotate-kek", "");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_kek = nlohmann::json::parse(rotated.body).value("newKekId", "");
  ServerProcess::CliResult status = server->RunCli({"escrow", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("trusted by the token: yes"), std::string::npos) << status.out;
  ASSERT_FALSE(new_kek.empty());
  std::size_t row = status.out.find(new_kek);
  ASSERT_NE(row, std::string::npos) << status.out;
  std::string line = status.out.substr(row, status.out.find('\n', row) - row);
  EXPECT_TRUE(line.ends_with("yes      yes")) << "current and escrowed: " << line;
  for (const auto& [name, value] : secrets) EXPECT_EQ(Decrypt(*server, name), value);
  const std::string new_key = AuditPublicKey(*server);
  ASSERT_FALSE(new_key.empty());
  EXPECT_NE(new_key, old_key);
  ASSERT_TRUE(WriteFileBytes(work.Join("new.pem"), new_key, 0600));
  HttpsResponse online = server->AdminClient().Request("GET", "/api/audit/verify");
  EXPECT_EQ(online.status, 200) << online.body;
  ASSERT_EQ(server->Stop(), 0);

  // The auditor pins both keys; with only the old one the key change fails.
  ShellResult both = Verify(*server, "--public-key " + Quoted(work.Join("old.pem")) +
                                         " --later-public-key " + Quoted(work.Join("new.pem")));
  EXPECT_EQ(both.exit_code, 0) << both.out;
  EXPECT_NE(both.out.find("key_changes=1"), std::string::npos) << both.out;
  ShellResult old_only = Verify(*server, "--public-key " + Quoted(work.Join("old.pem")));
  EXPECT_NE(old_only.exit_code, 0) << old_only.out;
  EXPECT_NE(old_only.out.find("not pinned"), std::string::npos) << old_only.out;

  // Every escrow action is in the log, and the recovery names its shares
  // and the old audit key.
  std::vector<nlohmann::json> records = AuditRecords(*server);
  EXPECT_EQ(WithAction(records, "escrow.setup").size(), 1u);
  std::vector<nlohmann::json> recovery = WithAction(records, "escrow.recover");
  ASSERT_EQ(recovery.size(), 1u);
  EXPECT_EQ(Field(recovery[0], "/details/shares"), "1,3");
  EXPECT_EQ(Field(recovery[0], "/details/previous_audit_key_sha256"),
            *audit::PublicKeyFingerprint(old_key));
  std::vector<nlohmann::json> changed = WithAction(records, "audit.key.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(Field(changed[0], "/details/key_sha256"), *audit::PublicKeyFingerprint(new_key));
}

}  // namespace
}  // namespace strongroom::testing_support

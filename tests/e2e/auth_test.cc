// Authentication and authorization of the real server (SPEC sections 4 and
// 7, issue 4): the built-in roles against every SecureValue endpoint and an
// admin endpoint, 401s for bad or dead credentials, token semantics,
// certificates as services, CLI account changes while the server runs, and
// password-guessing abuse (throttling per address, equal cost for unknown
// users, 503 beyond two concurrent password checks).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <thread>

#include "tests/e2e/auth_test_support.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(Auth, EachBuiltInRoleGetsExactlyItsGrantsInItsOwnNamespaceOnly) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  struct Row {
    std::string login, role, ns;
    bool server_admin;
    std::string own, other;  // MatrixRow in team-a and team-b
    long rotate_by_password;
  };
  const std::vector<Row> rows = {
      {"vic", "Viewer", "team-a", false, kReadOnly, kAllDenied, 403},
      {"eddie", "Editor", "team-a", false, kAllAllowed, kAllDenied, 403},
      {"ada", "Admin", "team-a", false, kAllAllowed, kAllDenied, 403},
      {"audrey", "Auditor", "*", false, kAllDenied, kAllDenied, 403},
      {"root", "", "", true, kAllAllowed, kAllAllowed, 204},
  };
  HttpsClient admin = server->AdminClient();
  for (const Row& row : rows) {
    SCOPED_TRACE(row.role.empty() ? "ServerAdmin (" + row.login + ")" : row.role);
    ServerProcess::CliResult added =
        AddUser(*server, row.login, row.role, row.ns, row.server_admin);
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const std::string token = row.server_admin ? IssueToken(*server, row.login, "ServerAdmin", "*")
                                               : IssueToken(*server, row.login, row.role, row.ns);
    ASSERT_FALSE(token.empty());
    HttpsClient by_token = TokenClient(*server, token);
    HttpsClient by_password = BasicClient(*server, row.login, PasswordOf(row.login));
    EXPECT_EQ(MatrixRow(by_token, admin, "team-a", row.login + "-token"), row.own);
    EXPECT_EQ(MatrixRow(by_token, admin, "team-b", row.login + "-token"), row.other);
    EXPECT_EQ(MatrixRow(by_password, admin, "team-a", row.login + "-basic"), row.own);
    EXPECT_EQ(MatrixRow(by_password, admin, "team-b", row.login + "-basic"), row.other);
    EXPECT_EQ(RotateStatus(by_token), 403) << "API tokens never use /api/admin";
    EXPECT_EQ(RotateStatus(by_password), row.rotate_by_password);
  }
}

TEST(Auth, DecrypterIsRefusedForUsersAndADecrypterServiceManagesNothing) {
  ServerProcessOptions options;
  options.extra_policy_files["svc.json"] =
      R"({"bindings": [{"service": "svc-x", "role": "Decrypter", "namespace": "team-a"}]})";
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  EXPECT_NE(AddUser(*server, "dora", "Decrypter", "team-a").exit_code, 0);
  EXPECT_NE(AddUser(*server, "audie", "Auditor", "team-a").exit_code, 0) << "Auditor is '*' only";
  ASSERT_EQ(AddUser(*server, "nora").exit_code, 0);
  EXPECT_NE(server->RunCli({"user", "bind", "nora", "--role", "Decrypter", "--namespace", "team-a"})
                .exit_code,
            0);
  EXPECT_NE(server
                ->RunCli({"token", "create", "--user", "nora", "--role", "Decrypter", "--namespace",
                          "team-a"})
                .exit_code,
            0);
  HttpsClient nora = BasicClient(*server, "nora", PasswordOf("nora"));
  EXPECT_EQ(ListStatus(nora, "team-a"), 403) << "a new user has no role until bound";
  HttpsClient dora = BasicClient(*server, "dora", PasswordOf("dora"));
  EXPECT_EQ(ListStatus(dora, "team-a"), 401) << "a refused `user add` creates no user";

  IssuedCertificate svc = server->pki().IssueClient("svc-x", {.common_name = "svc-x"});
  HttpsClient service = server->CertClient(svc);
  HttpsClient admin = server->AdminClient();
  EXPECT_EQ(MatrixRow(service, admin, "team-a", "svc-own"), kAllDenied);
  EXPECT_EQ(MatrixRow(service, admin, "team-b", "svc-other"), kAllDenied);
  EXPECT_EQ(RotateStatus(service), 403);
}

TEST(Auth, WrongPasswordUnknownUserAndMalformedCredentialsGetOneUniform401) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "uma", "Viewer", "team-a").exit_code, 0);
  HttpsClient uma = BasicClient(*server, "uma", PasswordOf("uma"));
  EXPECT_EQ(ListStatus(uma, "team-a"), 200);

  HttpsClient wrong = BasicClient(*server, "uma", "not-the-password-1");
  HttpsClient unknown = BasicClient(*server, "nobody-here", "not-the-password-1");
  HttpsResponse wrong_answer = wrong.Request("GET", SecureValues("team-a"));
  HttpsResponse unknown_answer = unknown.Request("GET", SecureValues("team-a"));
  EXPECT_EQ(wrong_answer.status, 401);
  EXPECT_EQ(unknown_answer.status, 401);
  EXPECT_EQ(wrong_answer.body, unknown_answer.body)
      << "the 401 must not tell whether a user exists";
  nlohmann::json status = nlohmann::json::parse(wrong_answer.body, nullptr, false);
  EXPECT_EQ(status.value("kind", ""), "Status") << wrong_answer.body;
  EXPECT_EQ(status.value("code", 0), 401) << wrong_answer.body;

  HttpsClient anonymous(server->base_url(), server->ca_path());
  EXPECT_EQ(ListStatus(anonymous, "team-a"), 401) << "no credentials at all";
  const std::string hex16(16, 'a');
  const std::string hex64(64, 'b');
  const std::vector<std::string> malformed = {
      "Basic",
      "Basic !!!!not-base64",
      "Basic " + Base64("uma"),  // no colon
      "Basic " + Base64("uma:" + PasswordOf("uma")).substr(1),
      "Bearer",
      "Bearer not-a-token",
      "Bearer srt_" + hex16 + "_" + hex64,  // well formed, never issued
      "Bearer srt_" + hex16 + "_" + hex64.substr(1) + "g",
      "Key",
      "Digest username=\"uma\"",
      "Negotiate abc",
  };
  for (std::size_t i = 0; i < malformed.size();
       ++i) {  // never print the header: it may hold a password
    HttpsClient client = HeaderClient(*server, malformed[i]);
    EXPECT_EQ(ListStatus(client, "team-a"), 401) << "malformed Authorization #" << i;
  }
}

TEST(Auth, ExpiredRevokedAndOrphanedTokensGet401) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "tess", "Viewer", "team-a").exit_code, 0);
  ASSERT_EQ(AddUser(*server, "otto", "Viewer", "team-a").exit_code, 0);
  const std::string short_lived = IssueToken(*server, "tess", "Viewer", "team-a", "2s");
  const Clock::time_point short_issued = Clock::now();  // it expires before this + 2 s
  ASSERT_FALSE(short_lived.empty());
  HttpsClient short_client = TokenClient(*server, short_lived);
  EXPECT_EQ(ListStatus(short_client, "team-a"), 200) << "a token within its --ttl";
  const std::string revoked = IssueToken(*server, "tess", "Viewer", "team-a");
  const std::string orphan = IssueToken(*server, "otto", "Viewer", "team-a");
  ASSERT_FALSE(revoked.empty() || orphan.empty());
  HttpsClient revoked_client = TokenClient(*server, revoked);
  HttpsClient orphan_client = TokenClient(*server, orphan);
  EXPECT_EQ(ListStatus(revoked_client, "team-a"), 200);
  EXPECT_EQ(ListStatus(orphan_client, "team-a"), 200);

  CliOk(*server, {"token", "revoke", TokenId(revoked)});
  HttpsResponse revoked_answer = revoked_client.Request("GET", SecureValues("team-a"));
  EXPECT_EQ(revoked_answer.status, 401);
  CliOk(*server, {"user", "del", "otto"});
  EXPECT_EQ(ListStatus(orphan_client, "team-a"), 401) << "token of a deleted user";
  ASSERT_EQ(AddUser(*server, "otto", "Viewer", "team-a").exit_code, 0);
  EXPECT_EQ(ListStatus(orphan_client, "team-a"), 401)
      << "a new user with the deleted owner's login must not revive the old user's tokens";

  std::this_thread::sleep_until(short_issued + milliseconds(2'500));
  HttpsResponse expired_answer = short_client.Request("GET", SecureValues("team-a"));
  EXPECT_EQ(expired_answer.status, 401) << "token past its --ttl";
  EXPECT_EQ(expired_answer.body, revoked_answer.body);
}

TEST(Auth, CertificateWithoutAUserMappingIsAServiceAndAnAuthorizationHeaderOverridesIt) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin_cert = server->CertClient(server->admin_cert());
  EXPECT_EQ(ListStatus(admin_cert, "team-b"), 200) << "admin.pem is mapped to the user admin";
  EXPECT_EQ(RotateStatus(admin_cert), 204) << "a server admin by mapped certificate";
  HttpsClient service = server->CertClient(server->decrypter_cert());
  EXPECT_EQ(ListStatus(service, "team-a"), 403) << "an unmapped certificate is a service, not 401";
  EXPECT_EQ(CreateStatus(service, "team-a", "by-service"), 403);
  IssuedCertificate ambiguous = server->pki().IssueClient(
      "two-uris", {.common_name = "two-uris", .uri_sans = {"spiffe://t/a", "spiffe://t/b"}});
  HttpsClient nobody = server->CertClient(ambiguous);
  EXPECT_EQ(ListStatus(nobody, "team-a"), 401) << "more than one URI SAN gives no identity";

  // An Authorization header, if present, is the identity; the certificate
  // is then only recorded.
  admin_cert.SetBasicAuth("admin", "not-the-admin-password");
  EXPECT_EQ(ListStatus(admin_cert, "team-a"), 401);
  ASSERT_EQ(AddUser(*server, "vera", "Viewer", "team-a").exit_code, 0);
  const std::string vera_token = IssueToken(*server, "vera", "Viewer", "team-a");
  ASSERT_FALSE(vera_token.empty());
  admin_cert.SetBearerToken(vera_token);
  EXPECT_EQ(ListStatus(admin_cert, "team-a"), 200);
  EXPECT_EQ(CreateStatus(admin_cert, "team-a", "vera-not-admin"), 403);
  EXPECT_EQ(ListStatus(admin_cert, "team-b"), 403);
  service.SetBasicAuth("admin", server->admin_password());
  EXPECT_EQ(CreateStatus(service, "team-a", "admin-over-service"), 201);
}

TEST(Auth, TokenPermissionsAreTheIntersectionOfTheTokenRoleAndTheOwners) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "vince", "Viewer", "team-a").exit_code, 0);
  ASSERT_EQ(AddUser(*server, "edna", "Editor", "team-a").exit_code, 0);
  ASSERT_EQ(AddUser(*server, "root", "", "", true).exit_code, 0);
  HttpsClient editor_of_viewer =
      TokenClient(*server, IssueToken(*server, "vince", "Editor", "team-a"));
  EXPECT_EQ(CreateStatus(editor_of_viewer, "team-a", "by-vince"), 403);
  EXPECT_EQ(ListStatus(editor_of_viewer, "team-a"), 200);
  HttpsClient viewer_of_editor =
      TokenClient(*server, IssueToken(*server, "edna", "Viewer", "team-a"));
  EXPECT_EQ(CreateStatus(viewer_of_editor, "team-a", "by-edna-viewer"), 403);
  EXPECT_EQ(DeleteStatus(viewer_of_editor, "team-a", "absent"), 403);
  EXPECT_EQ(ListStatus(viewer_of_editor, "team-a"), 200);
  HttpsClient elsewhere = TokenClient(*server, IssueToken(*server, "edna", "Editor", "team-b"));
  EXPECT_EQ(CreateStatus(elsewhere, "team-a", "by-edna-b1"), 403) << "token role not in team-a";
  EXPECT_EQ(CreateStatus(elsewhere, "team-b", "by-edna-b2"), 403) << "owner not in team-b";
  EXPECT_EQ(ListStatus(elsewhere, "team-b"), 403);
  HttpsClient full = TokenClient(*server, IssueToken(*server, "edna", "Editor", "team-a"));
  EXPECT_EQ(CreateStatus(full, "team-a", "by-edna"), 201);
  HttpsClient root_viewer = TokenClient(*server, IssueToken(*server, "root", "Viewer", "*"));
  EXPECT_EQ(ListStatus(root_viewer, "team-b"), 200);
  EXPECT_EQ(CreateStatus(root_viewer, "team-b", "by-root"), 403);

  HttpsClient root_token = TokenClient(*server, IssueToken(*server, "root", "ServerAdmin", "*"));
  for (const char* operation :
       {"rotate-data-keys", "reencrypt-data-keys", "reencrypt-secrets", "rotate-kek"}) {
    HttpsResponse answer =
        root_token.Request("POST", std::string("/api/admin/encryption/") + operation, "", "");
    EXPECT_EQ(answer.status, 403) << operation;
    EXPECT_TRUE(nlohmann::json::parse(answer.body, nullptr, false).contains("message"))
        << operation << ": " << answer.body;
  }
  EXPECT_EQ(CreateStatus(root_token, "team-b", "by-root-token"), 201);
  HttpsClient root = BasicClient(*server, "root", PasswordOf("root"));
  EXPECT_EQ(RotateStatus(root), 204) << "the same owner by password";
}

TEST(Auth, DemotingOrDeletingATokensOwnerTakesEffectOnTheNextRequest) {
  const std::string owner_file = "owner.json";
  auto binding = [](const std::string& role) {
    return R"({"bindings": [{"user": "ollie", "role": ")" + role + R"(", "namespace": "team-a"}]})";
  };
  ServerProcessOptions options;
  options.extra_policy_files[owner_file] = binding("Editor");
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "ollie").exit_code, 0);
  const std::string token = IssueToken(*server, "ollie", "Editor", "team-a");
  ASSERT_FALSE(token.empty());
  HttpsClient by_token = TokenClient(*server, token);
  EXPECT_EQ(DeleteStatus(by_token, "team-a", "absent"), 404) << "allowed, and absent";
  EXPECT_EQ(CreateStatus(by_token, "team-a", "before-demotion"), 201);

  ASSERT_TRUE(WriteFileBytes(server->policy_dir() + "/" + owner_file, binding("Viewer")));
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  HttpsClient by_password = BasicClient(*server, "ollie", PasswordOf("ollie"));
  long owner_status = 0;
  for (int i = 0; i < 50 && owner_status != 403; ++i) {  // the reload is asynchronous: <= 5 s
    if (i > 0) std::this_thread::sleep_for(milliseconds(100));
    owner_status = DeleteStatus(by_password, "team-a", "absent");
  }
  ASSERT_EQ(owner_status, 403) << "the owner was not demoted by the policy reload";
  EXPECT_EQ(DeleteStatus(by_token, "team-a", "absent"), 403);
  EXPECT_EQ(CreateStatus(by_token, "team-a", "after-demotion"), 403);
  EXPECT_EQ(ListStatus(by_token, "team-a"), 200);

  CliOk(*server, {"user", "del", "ollie"});
  EXPECT_EQ(ListStatus(by_token, "team-a"), 401);
}

TEST(Auth, KeySchemeWorksLikeBearerAndTokenListNeverPrintsTokens) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "kay", "Editor", "team-a").exit_code, 0);
  const std::string token = IssueToken(*server, "kay", "Editor", "team-a");
  ASSERT_FALSE(token.empty());
  HttpsClient sensu = HeaderClient(*server, "Key " + token);
  EXPECT_EQ(ListStatus(sensu, "team-a"), 200);
  EXPECT_EQ(CreateStatus(sensu, "team-a", "by-key"), 201);
  EXPECT_EQ(ListStatus(sensu, "team-b"), 403);
  HttpsClient forged = HeaderClient(*server, "Key " + token.substr(0, 84) + "0");
  if (token.back() == '0') forged = HeaderClient(*server, "Key " + token.substr(0, 84) + "1");
  EXPECT_EQ(ListStatus(forged, "team-a"), 401);

  EXPECT_NE(server
                ->RunCli({"token", "create", "--user", "ghost", "--role", "Viewer", "--namespace",
                          "team-a"})
                .exit_code,
            0)
      << "a token needs an existing owner";

  const std::string secret = token.substr(21);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"token", "list"},
        std::vector<std::string>{"token", "list", "--user", "kay"}}) {
    ServerProcess::CliResult listed = server->RunCli(args);
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find(TokenId(token)), std::string::npos) << "the list shows token ids";
    EXPECT_EQ(listed.out.find(secret), std::string::npos) << "token list printed a token secret";
    EXPECT_EQ(listed.err.find(secret), std::string::npos) << "token list printed a token secret";
  }
}

TEST(Auth, CliAccountChangesTakeEffectOnTheVeryNextRequest) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient dave = BasicClient(*server, "dave", PasswordOf("dave"));
  EXPECT_EQ(ListStatus(dave, "team-a"), 401);
  ASSERT_EQ(AddUser(*server, "dave", "Viewer", "team-a").exit_code, 0);
  EXPECT_EQ(ListStatus(dave, "team-a"), 200) << "user add";
  EXPECT_EQ(CreateStatus(dave, "team-a", "by-dave-1"), 403);
  CliOk(*server, {"user", "bind", "dave", "--role", "Editor", "--namespace", "team-a"});
  EXPECT_EQ(CreateStatus(dave, "team-a", "by-dave-2"), 201) << "user bind";

  const std::string new_password = "dave-second-pass-phrase";
  CliOk(*server, {"user", "passwd", "dave"}, new_password + "\n");
  EXPECT_EQ(ListStatus(dave, "team-a"), 401) << "the old (cached) password after user passwd";
  HttpsClient dave_new = BasicClient(*server, "dave", new_password);
  EXPECT_EQ(ListStatus(dave_new, "team-a"), 200);

  const std::string token = IssueToken(*server, "dave", "Editor", "team-a");
  ASSERT_FALSE(token.empty());
  HttpsClient by_token = TokenClient(*server, token);
  EXPECT_EQ(ListStatus(by_token, "team-a"), 200) << "token create";
  CliOk(*server, {"token", "revoke", TokenId(token)});
  EXPECT_EQ(ListStatus(by_token, "team-a"), 401) << "token revoke";

  CliOk(*server, {"user", "del", "dave"});
  EXPECT_EQ(ListStatus(dave_new, "team-a"), 401) << "the (cached) password after user del";
}

TEST(Auth, WrongPasswordFloodsAreThrottledPerAddressAndNeverLockOutAdminElsewhere) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  std::vector<HttpsResponse> answers(40);
  {
    std::vector<std::thread> burst;  // 10 concurrent, then 30 sequential
    for (int i = 0; i < 10; ++i) {
      burst.emplace_back([&, i] {
        HttpsClient client = BasicClient(*server, "admin", "wrong-" + std::to_string(i));
        answers[i] = client.Request("GET", SecureValues("team-a"));
      });
    }
    for (std::thread& thread : burst) thread.join();
  }
  HttpsClient flooder = BasicClient(*server, "admin", "wrong");
  for (int i = 10; i < 40; ++i) {
    flooder.SetBasicAuth("admin", "wrong-" + std::to_string(i));
    answers[i] = flooder.Request("GET", SecureValues("team-a"));
  }
  int throttled = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const long status = answers[i].status;
    EXPECT_TRUE(status == 401 || status == 429 || status == 503) << "#" << i << ": " << status;
    if (status == 429) {
      ++throttled;
      EXPECT_TRUE(answers[i].headers.contains("retry-after")) << "#" << i;
    }
  }
  EXPECT_GE(throttled, 1) << "40 wrong passwords from one address were never throttled (429)";

  HttpsClient elsewhere = server->AdminClient();
  elsewhere.SetSourceAddress("127.0.0.2");
  EXPECT_EQ(ListStatus(elsewhere, "team-a"), 200) << "admin locked out from another address";
  EXPECT_EQ(RotateStatus(elsewhere), 204);

  // Spraying distinct logins from one address is slowed per address (more
  // than 30 failures a minute), still without touching admin elsewhere.
  HttpsClient sprayer(server->base_url(), server->ca_path());
  sprayer.SetSourceAddress("127.0.0.6");
  long last = 0;
  for (int i = 0; i < 36 && last != 429; ++i) {
    sprayer.SetBasicAuth("spray-" + std::to_string(i), "wrong-spray");
    last = sprayer.Request("GET", SecureValues("team-a")).status;
    EXPECT_TRUE(last == 401 || last == 429) << "spray #" << i << ": " << last;
  }
  EXPECT_EQ(last, 429) << "36 wrong logins from one address were never throttled";
  EXPECT_EQ(ListStatus(elsewhere, "team-a"), 200);
}

TEST(Auth, UnknownUsersCostNoMoreThanKnownOnes) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "kim").exit_code, 0);
  HttpsClient known(server->base_url(), server->ca_path());
  known.SetSourceAddress("127.0.0.3");
  HttpsClient unknown(server->base_url(), server->ca_path());
  unknown.SetSourceAddress("127.0.0.4");
  ASSERT_EQ(known.Request("GET", "/livez").status, 200);  // handshakes outside the timing
  ASSERT_EQ(unknown.Request("GET", "/livez").status, 200);
  // At most 5 failures per (user, address) and 10 per address: nothing is
  // throttled, so every attempt pays for its password check.
  auto timed = [](HttpsClient& client, const std::string& login, const std::string& password) {
    client.SetBasicAuth(login, password);
    const Clock::time_point start = Clock::now();
    const long status = client.Request("GET", SecureValues("team-a")).status;
    EXPECT_EQ(status, 401) << login;
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  double known_ms = 0;
  double unknown_ms = 0;
  for (int i = 0; i < 10; ++i) {
    known_ms += timed(known, i < 5 ? "admin" : "kim", "wrong-known-" + std::to_string(i));
    unknown_ms +=
        timed(unknown, "ghost-" + std::to_string(i), "wrong-unknown-" + std::to_string(i));
  }
  EXPECT_LT(unknown_ms / 10, 1.5 * (known_ms / 10) + 20)
      << "mean ms: unknown " << unknown_ms / 10 << ", known " << known_ms / 10;
}

TEST(Auth, MoreThanTwoConcurrentPasswordChecksGet503NotAStall) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 8;
  std::vector<HttpsClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(BasicClient(*server, "admin", "wrong-concurrent-" + std::to_string(i)));
    clients.back().SetSourceAddress("127.0.0.5");
    ASSERT_EQ(clients.back().Request("GET", "/livez").status, 200);  // connected and ready
  }
  std::vector<HttpsResponse> answers(kClients);
  std::latch start(kClients + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = clients[i].Request("GET", SecureValues("team-a"));
    });
  }
  start.arrive_and_wait();
  const Clock::time_point released = Clock::now();
  for (std::thread& thread : threads) thread.join();
  const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - released);
  EXPECT_LE(elapsed.count(), 5'000) << "8 concurrent password checks stalled";
  int unavailable = 0;
  for (int i = 0; i < kClients; ++i) {
    const long status = answers[i].status;
    EXPECT_TRUE(status == 401 || status == 503)
        << "#" << i << ": " << status << " " << answers[i].error;
    if (status == 503) {
      ++unavailable;
      EXPECT_TRUE(answers[i].headers.contains("retry-after")) << "#" << i;
    }
  }
  EXPECT_GE(unavailable, 1) << "more than 2 concurrent password checks all ran";
}

}  // namespace
}  // namespace strongroom::testing_support

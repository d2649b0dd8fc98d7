// The web view in a real browser (issue 21): Debian's chromium, headless,
// driven by puppeteer-core (tests/ui/browser_check.cjs, run through
// run_browser_check.sh, which installs the pinned npm packages) against the
// real server over real TLS. This test makes what the browser looks at: an
// Auditor and a Viewer, canary SecureValues, one decrypt by a service over
// mutual TLS and one denied request; then checks what the browser reported,
// that the head it showed is a real record of the log, that every page left
// a screenshot under the build directory, and that no canary value or
// password is in anything the browser saw.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"

namespace strongroom::testing_support {
namespace {

const std::string kNamespace = "ui-canary";
const std::string kDecryptAction = "secret.securevalues:decrypt";
const std::string kService = "demo-service";  // the decrypter certificate's CN

// RunBrowserCheck runs the script, bounded by `timeout` (the first run
// installs the npm packages), and returns its exit status and output.
std::pair<int, std::string> RunBrowserCheck(const std::string& config_path) {
  const std::string line = std::string("timeout 540 ") + SR_SOURCE_DIR +
                           "/tests/ui/run_browser_check.sh " + SR_UI_TOOLS_DIR + " " +
                           config_path + " 2>&1";
  std::string output;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Number returns the unsigned number at `pointer` in `json`, or 0.
std::uint64_t Number(const nlohmann::json& json, const std::string& pointer) {
  const nlohmann::json::json_pointer at(pointer);
  if (!json.contains(at) || !json.at(at).is_number_unsigned()) return 0;
  return json.at(at).get<std::uint64_t>();
}

bool IsPng(const std::string& path) {
  const std::string bytes = ReadWhole(path);
  return bytes.size() > 1000 && bytes.starts_with("\x89PNG\r\n\x1a\n");
}

TEST(UiBrowser, AnAuditorFollowsADecryptToItsVerifiedRecordAndNoSecretReachesThePage) {
  ServerProcessOptions options;
  options.extra_policy_files["ui.json"] =
      R"({"bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "ui-canary"}]})";
  auto server = ServerProcess::Start(options);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(AddUser(*server, "audrey", "Auditor", "*").exit_code, 0);
  ASSERT_EQ(AddUser(*server, "vic", "Viewer", kNamespace).exit_code, 0);

  // Canary values: known, so every byte the browser saw can be searched.
  const std::vector<std::string> canaries = {"ui-canary-value-7f3a91c2d4", "ui-canary-value-0b8e5d16aa",
                                             "ui-canary-value-c94f27e3b1"};
  HttpsClient admin = server->AdminClient();
  for (std::size_t i = 0; i < canaries.size(); ++i) {
    const std::string body = ToBody(
        {.name = "canary-" + std::to_string(i), .value = canaries[i], .decrypters = {kService}});
    ASSERT_EQ(admin.Request("POST", SecureValues(kNamespace), body).status, 201);
  }
  HttpsClient service = server->CertClient(server->decrypter_cert());
  HttpsResponse decrypted = service.Request("POST", SecureValue(kNamespace, "canary-0") + "/decrypt");
  ASSERT_EQ(decrypted.status, 200);
  ASSERT_NE(decrypted.body.find(canaries[0]), std::string::npos) << "the decrypt itself works";
  const std::string request_id = decrypted.headers["x-request-id"];
  ASSERT_FALSE(request_id.empty());
  // A denial for the overview: the Viewer may not create.
  HttpsClient viewer = BasicClient(*server, "vic", PasswordOf("vic"));
  ASSERT_EQ(viewer.Request("POST", SecureValues(kNamespace),
                           ToBody({.name = "refused", .value = "not-stored-1", .decrypters = {kService}}))
                .status,
            403);

  // The decrypt's record, sealed by a checkpoint (one follows within a
  // second of activity), so the record page has one to show.
  std::vector<nlohmann::json> records = WaitForRecords(
      *server,
      [&](const std::vector<nlohmann::json>& all) {
        std::uint64_t decrypt_seq = 0;
        for (const nlohmann::json& r : WithRequestId(all, request_id))
          decrypt_seq = r.value("seq", std::uint64_t{0});
        if (decrypt_seq == 0) return false;
        for (const nlohmann::json& r : all) {
          if (Field(r, "/type") == "checkpoint" &&
              Number(r, "/checkpoint/head_seq") >= decrypt_seq)
            return true;
        }
        return false;
      },
      std::chrono::milliseconds(10'000));
  ASSERT_EQ(WithRequestId(records, request_id).size(), 1u);

  const std::string work = server->dir() + "/browser";
  std::filesystem::create_directories(work);
  const std::string screenshots = SR_UI_SCREENSHOT_DIR;
  std::filesystem::remove_all(screenshots);
  nlohmann::json config = {
      {"base_url", server->base_url()},
      {"ca_path", server->ca_path()},
      {"chromium", "/usr/bin/chromium"},
      {"work_dir", work},
      {"screenshot_dir", screenshots},
      {"results_path", work + "/results.json"},
      {"seen_path", work + "/seen.txt"},
      {"auditor", {{"user", "audrey"}, {"password", PasswordOf("audrey")}}},
      {"viewer", {{"user", "vic"}, {"password", PasswordOf("vic")}}},
      {"decrypt",
       {{"request_id", request_id}, {"action", kDecryptAction}, {"actor", kService},
        {"namespace", kNamespace}}},
      {"canaries", canaries},
  };
  const std::string config_path = work + "/config.json";
  {
    std::ofstream out(config_path);
    out << config.dump();
  }
  std::filesystem::permissions(config_path, std::filesystem::perms::owner_read |
                                                std::filesystem::perms::owner_write);

  auto [exit_code, output] = RunBrowserCheck(config_path);
  // The script prints no secret (browser_check.cjs); its output explains
  // a failure.
  EXPECT_EQ(exit_code, 0) << output;
  nlohmann::json results =
      nlohmann::json::parse(ReadWhole(work + "/results.json"), nullptr, false);
  ASSERT_TRUE(results.is_object()) << "no results from the browser check: " << output;
  EXPECT_TRUE(results.contains("ok") && results["ok"] == true) << results["failures"].dump(2);

  // The head the page showed is a real record of the log, with that hash.
  const std::uint64_t head_seq = Number(results, "/head/seq");
  const std::string head_hash = Field(results, "/head/hash");
  ASSERT_GT(head_seq, 0u);
  bool head_found = false;
  for (const nlohmann::json& r : AuditRecords(*server)) {
    if (Number(r, "/seq") == head_seq) head_found = Field(r, "/hash") == head_hash;
  }
  EXPECT_TRUE(head_found) << "head " << head_seq << ":" << head_hash << " is not in the log";
  EXPECT_GT(Number(results, "/pages/checkpoint_seq"), Number(results, "/pages/record_seq"));
  EXPECT_GT(Number(results, "/pages/record_seq"), 0u);

  // Every page left a screenshot.
  for (const std::string name : {"signin", "signin-refused", "trail", "trail-filtered", "record",
                                 "verify", "keys", "overview", "signed-out"}) {
    EXPECT_TRUE(IsPng(screenshots + "/" + name + ".png")) << name;
  }
  // Nothing the browser saw holds a canary or a password (checked here too,
  // on the script's dump of every response body and page text).
  const std::string seen = ReadWhole(work + "/seen.txt");
  EXPECT_GT(Number(results, "/responses_seen"), 10u);
  EXPECT_NE(seen.find("/api/audit/verify"), std::string::npos);
  for (std::size_t i = 0; i < canaries.size(); ++i) {
    EXPECT_EQ(seen.find(canaries[i]), std::string::npos) << "canary #" << i + 1;
  }
  for (const std::string login : {"audrey", "vic"}) {
    EXPECT_EQ(seen.find(PasswordOf(login)), std::string::npos) << login << "'s password";
  }
  // The page's reads were audited requests of the Auditor.
  std::vector<nlohmann::json> reads = Matching(AuditRecords(*server), [](const nlohmann::json& r) {
    return Field(r, "/actor/name") == "audrey" && Field(r, "/action") == "audit.events:read" &&
           Field(r, "/outcome/result") == "allowed";
  });
  EXPECT_GE(reads.size(), 3u);
}

}  // namespace
}  // namespace strongroom::testing_support

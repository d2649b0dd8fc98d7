// GET /metrics end to end (SPEC 6.6, issue 7): the real server over real
// TLS counts known requests (creates, an allowed, a denied and an
// unauthenticated decrypt, a 404) where expected, `promtool check
// metrics` (Debian's prometheus package, installed by scripts/setup.sh)
// accepts the scrape, and only the identities allowed to scrape may: metrics:read holders, the
// configured scrape service, and anyone only when anonymous access is configured.
//
// SECURITY: the fixture values are not secrets, and the scrape holds none;
// decrypt responses are never printed.

#include <cstdlib>

#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

// The sample decrypter certificate (CN demo-service) may decrypt in
// "default".
const std::string kPolicy = R"({
  "bindings": [{"service": "demo-service", "role": "Decrypter", "namespace": "default"}]
})";
const std::string kScrapeConfig = "[metrics]\nscrape_services = [\"prometheus\"]\n";

const std::string kCreateRoute =
    "strongroom_http_requests_total{method=\"POST\",route=\"/apis/secret.grafana.app/v1beta1/"
    "namespaces/:ns/securevalues\",status_class=\"2xx\"}";
const std::string kDecryptRoute =
    "{method=\"POST\",route=\"/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name/"
    "decrypt\",status_class=\"";
const std::string kUnmatched4xx =
    "strongroom_http_requests_total{method=\"\",route=\"unmatched\",status_class=\"4xx\"}";

// Value returns the sample `series` (the name and labels exactly as
// exposed) of `scrape`, or 0 when it is absent.
double Value(const std::string& scrape, const std::string& series) {
  const std::string text = "\n" + scrape;
  const std::string needle = "\n" + series + " ";
  std::size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return std::strtod(text.c_str() + at + needle.size(), nullptr);
}

// CheckWithPromtool feeds `scrape` to `promtool check metrics` on stdin and
// returns its exit status and output (stdout and stderr).
ShellResult CheckWithPromtool(const std::string& scrape) {
  TempDir dir;
  const std::string path = dir.Join("scrape.txt");
  EXPECT_TRUE(WriteFileBytes(path, scrape));
  return RunShell("promtool check metrics < " + path + " 2>&1");
}

class MetricsTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& metrics_config) {
    ServerProcessOptions options;
    options.extra_policy_files["metrics.json"] = kPolicy;
    options.extra_config_text = metrics_config;
    server_ = ServerProcess::Start(options);
    ASSERT_NE(server_, nullptr);
    prometheus_ = server_->pki().IssueClient("prometheus", {.common_name = "prometheus"});
  }

  // Scrape returns /metrics as the configured scrape service.
  std::string Scrape() {
    HttpsClient client = server_->CertClient(prometheus_);
    HttpsResponse response = client.Request("GET", "/metrics");
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return response.body;
  }

  std::unique_ptr<ServerProcess> server_;
  IssuedCertificate prometheus_;
};

TEST_F(MetricsTest, CountersMoveByTheKnownRequestsAndPromtoolAcceptsTheScrape) {
  StartServer(kScrapeConfig);
  const std::string before = Scrape();

  HttpsClient admin = server_->AdminClient();
  ASSERT_EQ(admin
                .Request("POST", Collection("default"),
                         ToBody({.name = "metrics-on-list", .value = "fixture value one"}))
                .status,
            201);
  ASSERT_EQ(admin
                .Request("POST", Collection("default"),
                         ToBody({.name = "metrics-off-list",
                                 .value = "fixture value two",
                                 .decrypters = {"someone-else"}}))
                .status,
            201);
  HttpsClient decrypter = server_->CertClient(server_->decrypter_cert());
  EXPECT_EQ(decrypter.Request("POST", Item("default", "metrics-on-list") + "/decrypt", "").status,
            200);
  EXPECT_EQ(decrypter.Request("POST", Item("default", "metrics-off-list") + "/decrypt", "").status,
            403);
  HttpsClient no_certificate(server_->base_url(), server_->ca_path());
  EXPECT_EQ(
      no_certificate.Request("POST", Item("default", "metrics-on-list") + "/decrypt", "").status,
      401);
  EXPECT_EQ(admin.Request("GET", "/no/such/route").status, 404);

  const std::string after = Scrape();
  auto moved = [&](const std::string& series) {
    return Value(after, series) - Value(before, series);
  };
  EXPECT_EQ(moved(kCreateRoute), 2);
  EXPECT_EQ(moved("strongroom_http_requests_total" + kDecryptRoute + "2xx\"}"), 1);
  EXPECT_EQ(moved("strongroom_http_requests_total" + kDecryptRoute + "4xx\"}"), 2);
  EXPECT_EQ(moved("strongroom_http_request_duration_seconds_count" + kDecryptRoute + "2xx\"}"), 1);
  EXPECT_EQ(moved(kUnmatched4xx), 1);
  EXPECT_EQ(moved("strongroom_decrypts_total{outcome=\"allowed\",reason=\"ok\"}"), 1);
  EXPECT_EQ(moved("strongroom_decrypts_total{outcome=\"denied\",reason=\"not_on_allowlist\"}"), 1);
  EXPECT_EQ(moved("strongroom_decrypts_total{outcome=\"denied\",reason=\"unauthenticated\"}"), 1);
  EXPECT_EQ(moved("strongroom_decrypts_total{outcome=\"denied\",reason=\"no_permission\"}"), 0);
  // Two creates and two decrypts, each audited (checkpoints may add more).
  EXPECT_GE(moved("strongroom_audit_records_total"), 4);
  EXPECT_GE(moved("strongroom_audit_group_commit_records_count"), 1);
  EXPECT_GE(moved("strongroom_audit_fsync_duration_seconds_count"), 1);
  // The allowed decrypt found its data key: in the cache, or through the token.
  EXPECT_GE(
      moved("strongroom_data_key_cache_hits_total") + moved("strongroom_data_key_unwraps_total"),
      1);
  EXPECT_GE(moved("strongroom_token_operations_total"), 1);  // the data key's creation
  EXPECT_GE(moved("strongroom_tls_handshakes_total{result=\"completed\"}"), 4);
  // The scrape before this one is counted; this one's own client is open.
  EXPECT_GE(Value(after,
                  "strongroom_http_requests_total{method=\"GET\",route=\"/metrics\","
                  "status_class=\"2xx\"}"),
            1);
  EXPECT_GE(Value(after, "strongroom_tls_connections_open"), 1);
  EXPECT_GT(Value(after, "strongroom_store_map_used_bytes"), 0);
  EXPECT_GT(Value(after, "strongroom_store_map_size_bytes"),
            Value(after, "strongroom_store_map_used_bytes"));
  EXPECT_GT(Value(after, "strongroom_audit_free_bytes"), 0);
  EXPECT_EQ(Value(after, "strongroom_audit_low_space"), 0);
  EXPECT_EQ(Value(after, "strongroom_audit_writable"), 1);
  // Labels are route templates: no namespace or secret name appears.
  EXPECT_EQ(after.find("metrics-on-list"), std::string::npos);
  EXPECT_EQ(after.find("namespaces/default"), std::string::npos);

  ShellResult checked = CheckWithPromtool(after);
  EXPECT_EQ(checked.exit_code, 0)
      << "promtool (Debian package prometheus; scripts/setup.sh installs it): " << checked.out;
  EXPECT_EQ(checked.out, "");
}

TEST_F(MetricsTest, OnlyMetricsReadersAndTheScrapeServiceMayScrape) {
  StartServer(kScrapeConfig);
  ASSERT_EQ(AddUser(*server_, "metrics-auditor", "Auditor", "*").exit_code, 0);
  ASSERT_EQ(AddUser(*server_, "metrics-viewer", "Viewer", "default").exit_code, 0);
  auto status = [](HttpsClient client) { return client.Request("GET", "/metrics").status; };

  HttpsClient anonymous(server_->base_url(), server_->ca_path());
  EXPECT_EQ(status(std::move(anonymous)), 401);
  EXPECT_EQ(status(BasicClient(*server_, "metrics-viewer", "wrong password here")), 401);
  // Authenticated, without metrics:read.
  EXPECT_EQ(status(BasicClient(*server_, "metrics-viewer", PasswordOf("metrics-viewer"))), 403);
  EXPECT_EQ(status(server_->CertClient(server_->decrypter_cert())), 403);
  // Holders of metrics:read, and the configured scrape service.
  EXPECT_EQ(status(BasicClient(*server_, "metrics-auditor", PasswordOf("metrics-auditor"))), 200);
  EXPECT_EQ(status(server_->AdminClient()), 200);
  EXPECT_EQ(status(server_->CertClient(server_->admin_cert())), 200);
  EXPECT_EQ(status(server_->CertClient(prometheus_)), 200);
  // A token carries its role's rights only.
  std::string viewer_token = IssueToken(*server_, "metrics-viewer", "Viewer", "default");
  ASSERT_FALSE(viewer_token.empty());
  EXPECT_EQ(status(TokenClient(*server_, viewer_token)), 403);
}

TEST_F(MetricsTest, AnonymousScrapesAreServedOnlyWhenConfigured) {
  StartServer("[metrics]\nallow_anonymous = true\n");
  HttpsClient anonymous(server_->base_url(), server_->ca_path());
  HttpsResponse scraped = anonymous.Request("GET", "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("# TYPE strongroom_decrypts_total counter"), std::string::npos);
  // Not configured as a scrape service here, and anonymous access does not
  // need it.
  EXPECT_EQ(server_->CertClient(prometheus_).Request("GET", "/metrics").status, 200);
}

}  // namespace
}  // namespace strongroom::testing_support

// Decrypt over mutual TLS (SPEC 6.2, issue 6), end to end against the real
// server: the allow/deny matrix with its audit records, Grafana-style single
// and batch decrypt, Dapr single and bulk reads, certificates refused at the
// handshake (another CA, expired, revoked), a SPIFFE-mapped service, an
// empty allowlist, and values of every Unicode class round-tripping byte
// for byte.
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/e2e/audit_test_support.h"
#include "tests/e2e/auth_test_support.h"
#include "tests/e2e/securevalue_api_client.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

// The policy of these tests: svc-a may decrypt in team-a and in empty-ns
// (which holds no secret); svc-none holds no permission anywhere; a
// certificate with the SPIFFE ID below is the service "billing".
const std::string kPolicy = R"({
  "bindings": [
    {"service": "svc-a", "role": "Decrypter", "namespace": "team-a"},
    {"service": "svc-a", "role": "Decrypter", "namespace": "empty-ns"},
    {"service": "billing", "role": "Decrypter", "namespace": "team-a"}
  ],
  "services": [
    {"match": {"san_uri": "spiffe://example.org/ns/prod/sa/billing"}, "name": "billing"}
  ]
})";

std::string DecryptPath(const std::string& ns, const std::string& name) {
  return SecureValue(ns, name) + "/decrypt";
}
std::string BatchPath(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/decrypt";
}
std::string DaprPath(const std::string& ns, const std::string& name) {
  return "/v1.0/secrets/" + ns + "/" + name;
}

// Body is a create body for `name` with `value` and `decrypters`.
std::string Body(const std::string& name, const std::string& value,
                 const std::vector<std::string>& decrypters) {
  return ToBody({.name = name, .value = value, .decrypters = decrypters});
}

class DecryptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerProcessOptions options;
    options.extra_policy_files["decrypt.json"] = kPolicy;
    server_ = ServerProcess::Start(options);
    ASSERT_NE(server_, nullptr);
    svc_a_ = server_->pki().IssueClient("svc-a", {.common_name = "svc-a"});
    svc_none_ = server_->pki().IssueClient("svc-none", {.common_name = "svc-none"});
    HttpsClient admin = server_->AdminClient();
    // on-list lists both services; off-list lists neither.
    for (const std::string ns : {"team-a", "team-b"}) {
      ASSERT_TRUE(Create(admin, ns, "on-list", ValueOf(ns, "on-list"), {"svc-a", "svc-none"}));
      ASSERT_TRUE(Create(admin, ns, "off-list", ValueOf(ns, "off-list"), {"someone-else"}));
    }
  }

  // Create creates a fixture value; on anything but 201 it says what the
  // server answered and logged (fixture values only, never a real secret).
  ::testing::AssertionResult Create(HttpsClient& admin, const std::string& ns,
                                    const std::string& name, const std::string& value,
                                    const std::vector<std::string>& decrypters) {
    HttpsResponse created = admin.Request("POST", SecureValues(ns), Body(name, value, decrypters));
    if (created.status == 201) return ::testing::AssertionSuccess();
    std::string log = server_->stderr_text();
    if (log.size() > 2000) log = log.substr(log.size() - 2000);
    return ::testing::AssertionFailure()
           << "create " << ns << "/" << name << " answered " << created.status << " "
           << created.body << created.error << "\n--- server stderr (tail):\n"
           << log;
  }
  static std::string ValueOf(const std::string& ns, const std::string& name) {
    return "value of " + ns + "/" + name + " \xc3\xa9\xe2\x82\xac";
  }

  std::unique_ptr<ServerProcess> server_;
  IssuedCertificate svc_a_, svc_none_;
};

// One cell of the matrix: a request and what it must give.
struct Cell {
  std::string service;  // "svc-a" or "svc-none"
  std::string ns, name;
  long grafana_status;
  long dapr_status;
  std::string result, reason;  // of the audit record
};

TEST_F(DecryptTest, TheAllowDenyMatrixGivesTheSpecifiedStatusAndAuditRecordEachTime) {
  const std::vector<Cell> cells = {
      // with permission, own namespace
      {"svc-a", "team-a", "on-list", 200, 200, "allowed", "ok"},
      {"svc-a", "team-a", "off-list", 403, 403, "denied", "not_on_allowlist"},
      {"svc-a", "team-a", "missing", 404, 204, "failed", "unknown_secret"},
      // with permission, a namespace that holds nothing
      {"svc-a", "empty-ns", "missing", 404, 400, "failed", "unknown_namespace"},
      // other namespace: no permission there, whatever exists
      {"svc-a", "team-b", "on-list", 403, 403, "denied", "no_permission"},
      {"svc-a", "team-b", "off-list", 403, 403, "denied", "no_permission"},
      {"svc-a", "team-b", "missing", 403, 403, "denied", "no_permission"},
      {"svc-a", "nowhere", "missing", 403, 403, "denied", "no_permission"},
      // without permission anywhere, even on the allowlist
      {"svc-none", "team-a", "on-list", 403, 403, "denied", "no_permission"},
      {"svc-none", "team-a", "off-list", 403, 403, "denied", "no_permission"},
      {"svc-none", "team-a", "missing", 403, 403, "denied", "no_permission"},
  };
  HttpsClient as_a = server_->CertClient(svc_a_);
  HttpsClient as_none = server_->CertClient(svc_none_);
  struct Sent {
    const Cell* cell;
    std::string request_id;
    std::string path;
  };
  std::vector<Sent> sent;
  for (const Cell& cell : cells) {
    SCOPED_TRACE(cell.service + " " + cell.ns + "/" + cell.name);
    HttpsClient& client = cell.service == "svc-a" ? as_a : as_none;
    HttpsResponse grafana = client.Request("POST", DecryptPath(cell.ns, cell.name));
    EXPECT_EQ(grafana.status, cell.grafana_status) << grafana.body;
    HttpsResponse dapr = client.Request("GET", DaprPath(cell.ns, cell.name));
    EXPECT_EQ(dapr.status, cell.dapr_status) << dapr.body;
    if (cell.grafana_status == 200) {
      nlohmann::json body = nlohmann::json::parse(grafana.body, nullptr, false);
      EXPECT_EQ(body.value("name", ""), cell.name);
      EXPECT_EQ(body.value("value", ""), ValueOf(cell.ns, cell.name));
      nlohmann::json dapr_body = nlohmann::json::parse(dapr.body, nullptr, false);
      EXPECT_EQ(dapr_body, nlohmann::json({{cell.name, ValueOf(cell.ns, cell.name)}}));
    } else {
      EXPECT_EQ(grafana.body.find("value of"), std::string::npos);
      EXPECT_EQ(dapr.body.find("value of"), std::string::npos);
    }
    if (cell.dapr_status == 204) {
      EXPECT_EQ(dapr.body, "");
    }
    if (cell.grafana_status == 403) {
      // The 403 never says whether the name exists.
      nlohmann::json status = nlohmann::json::parse(grafana.body, nullptr, false);
      EXPECT_EQ(status.value("reason", ""), "Forbidden") << grafana.body;
    }
    sent.push_back({&cell, grafana.headers["x-request-id"], "grafana"});
    sent.push_back({&cell, dapr.headers["x-request-id"], "dapr"});
  }
  std::vector<nlohmann::json> records = AuditRecords(*server_);
  for (const Sent& s : sent) {
    const Cell& cell = *s.cell;
    SCOPED_TRACE(s.path + " " + cell.service + " " + cell.ns + "/" + cell.name);
    std::vector<nlohmann::json> found = WithRequestId(records, s.request_id);
    ASSERT_EQ(found.size(), 1u);
    const nlohmann::json& r = found[0];
    EXPECT_EQ(Field(r, "/action"), "secret.securevalues:decrypt");
    EXPECT_EQ(Field(r, "/actor/kind"), "service");
    EXPECT_EQ(Field(r, "/actor/name"), cell.service);
    EXPECT_EQ(Field(r, "/actor/certificate_sha256"),
              cell.service == "svc-a" ? svc_a_.fingerprint_sha256 : svc_none_.fingerprint_sha256);
    EXPECT_EQ(Field(r, "/resource/namespace"), cell.ns);
    EXPECT_EQ(Field(r, "/resource/name"), cell.name);
    EXPECT_EQ(Field(r, "/outcome/result"), cell.result);
    EXPECT_EQ(Field(r, "/outcome/reason"), cell.reason);
    EXPECT_EQ(Field(r, "/outcome/status"),
              std::to_string(s.path == "grafana" ? cell.grafana_status : cell.dapr_status));
  }
  // SECURITY: the audit files hold no decrypted value.
  EXPECT_EQ(AuditBytes(*server_).find("value of"), std::string::npos);
}

TEST_F(DecryptTest, OnlyAVerifiedServiceCertificateIsAcceptedOnDecryptPaths) {
  const std::string path = DecryptPath("team-a", "on-list");
  HttpsClient anonymous(server_->base_url(), server_->ca_path());
  EXPECT_EQ(anonymous.Request("POST", path).status, 401);
  EXPECT_EQ(anonymous.Request("GET", DaprPath("team-a", "on-list")).status, 401);
  HttpsClient admin = server_->AdminClient();
  EXPECT_EQ(admin.Request("POST", path).status, 401) << "a password is never accepted";
  const std::string token = IssueToken(*server_, "admin", "ServerAdmin", "*");
  ASSERT_FALSE(token.empty());
  HttpsClient bearer = TokenClient(*server_, token);
  EXPECT_EQ(bearer.Request("POST", path).status, 401) << "a token is never accepted";
  HttpsClient admin_cert = server_->CertClient(server_->admin_cert());
  EXPECT_EQ(admin_cert.Request("POST", path).status, 401) << "a user's certificate";
  // A service certificate with a password alongside: the certificate counts.
  HttpsClient both = server_->CertClient(svc_a_);
  both.SetBasicAuth("admin", server_->admin_password());
  EXPECT_EQ(both.Request("POST", path).status, 200);
  IssuedCertificate ambiguous = server_->pki().IssueClient(
      "two-uris", {.common_name = "svc-a", .uri_sans = {"spiffe://t/a", "spiffe://t/b"}});
  HttpsClient nobody = server_->CertClient(ambiguous);
  EXPECT_EQ(nobody.Request("POST", path).status, 401) << "two URI SANs: no identity";
}

TEST_F(DecryptTest, CertificatesFromAnotherCaExpiredOrRevokedAreRefusedAtTheHandshake) {
  TempDir other_dir;
  TestPki other(other_dir.path(), "Other CA");
  IssuedCertificate foreign = other.IssueClient("foreign", {.common_name = "svc-a"});
  IssuedCertificate expired =
      server_->pki().IssueClient("expired", {.common_name = "svc-a", .expired = true});
  IssuedCertificate revoked = server_->pki().IssueClient("revoked", {.common_name = "svc-a"});
  const std::string path = DecryptPath("team-a", "on-list");
  HttpsClient before = server_->CertClient(revoked);
  EXPECT_EQ(before.Request("POST", path).status, 200) << "not revoked yet";

  server_->UseCrl(server_->pki().WriteCrl("clients", {revoked.cert_path}));
  ASSERT_EQ(server_->Restart(), 0);
  for (const IssuedCertificate* cert : {&foreign, &expired, &revoked}) {
    HttpsClient client = server_->CertClient(*cert);
    HttpsResponse refused = client.Request("POST", path);
    EXPECT_EQ(refused.status, 0) << cert->cert_path << ": " << refused.body;
  }
  HttpsClient good = server_->CertClient(svc_a_);
  EXPECT_EQ(good.Request("POST", path).status, 200) << "a certificate the CRL does not list";
}

// Issue 16's review: SIGHUP re-reads the CRL, so revoking a certificate
// needs no restart. Until the signal the old CRL holds.
TEST_F(DecryptTest, ACertificateRevokedInACrlWrittenAfterStartIsRefusedAfterSighup) {
  IssuedCertificate revoked = server_->pki().IssueClient("revoked-later", {.common_name = "svc-a"});
  const std::string path = DecryptPath("team-a", "on-list");
  const std::string crl = server_->pki().WriteCrl("clients", {});
  server_->UseCrl(crl);
  ASSERT_EQ(server_->Restart(), 0);
  EXPECT_EQ(server_->CertClient(revoked).Request("POST", path).status, 200);

  ASSERT_EQ(server_->pki().WriteCrl("clients", {revoked.cert_path}), crl);
  EXPECT_EQ(server_->CertClient(revoked).Request("POST", path).status, 200)
      << "accepted before SIGHUP";
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  // The signal is handled asynchronously; each try is a new handshake.
  long status = 200;
  for (int i = 0; i < 100 && status != 0; ++i) {
    status = server_->CertClient(revoked).Request("POST", path).status;
    if (status != 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 0) << "refused at the handshake after SIGHUP";
  EXPECT_EQ(server_->CertClient(svc_a_).Request("POST", path).status, 200)
      << "a certificate the CRL does not list";
}

TEST_F(DecryptTest, ASpiffeMappedCertificateDecryptsUnderItsMappedName) {
  HttpsClient admin = server_->AdminClient();
  ASSERT_TRUE(Create(admin, "team-a", "for-billing", "billing-value", {"billing"}));
  IssuedCertificate spiffe = server_->pki().IssueClient(
      "billing", {.common_name = "svc-a", .uri_sans = {"spiffe://example.org/ns/prod/sa/billing"}});
  HttpsClient client = server_->CertClient(spiffe);
  HttpsResponse decrypted = client.Request("POST", DecryptPath("team-a", "for-billing"));
  EXPECT_EQ(decrypted.status, 200) << decrypted.body;
  // Its CN (svc-a) is not its name: a value listing only svc-a is refused.
  ASSERT_TRUE(Create(admin, "team-a", "for-svc-a", "svc-a-value", {"svc-a"}));
  EXPECT_EQ(client.Request("POST", DecryptPath("team-a", "for-svc-a")).status, 403);
  std::vector<nlohmann::json> records = AuditRecords(*server_);
  std::vector<nlohmann::json> found = WithRequestId(records, decrypted.headers["x-request-id"]);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Field(found[0], "/actor/name"), "billing");
}

TEST_F(DecryptTest, AnEmptyDecryptersListDeniesEveryone) {
  HttpsClient admin = server_->AdminClient();
  ASSERT_TRUE(Create(admin, "team-a", "nobodys", "nobodys-value", {}));
  HttpsClient client = server_->CertClient(svc_a_);
  HttpsResponse denied = client.Request("POST", DecryptPath("team-a", "nobodys"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(client.Request("GET", DaprPath("team-a", "nobodys")).status, 403);
  std::vector<nlohmann::json> found =
      WithRequestId(AuditRecords(*server_), denied.headers["x-request-id"]);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Field(found[0], "/outcome/reason"), "empty_allowlist");
}

TEST_F(DecryptTest, BulkReturnsExactlyThePermittedSubsetAndBatchAnswersEachName) {
  HttpsClient admin = server_->AdminClient();
  ASSERT_TRUE(Create(admin, "team-a", "second", "second-value", {"svc-a"}));
  HttpsClient client = server_->CertClient(svc_a_);
  HttpsResponse bulk = client.Request("GET", "/v1.0/secrets/team-a/bulk");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(nlohmann::json::parse(bulk.body, nullptr, false),
            nlohmann::json({{"on-list", {{"on-list", ValueOf("team-a", "on-list")}}},
                            {"second", {{"second", "second-value"}}}}));
  std::vector<nlohmann::json> bulk_records =
      WithRequestId(AuditRecords(*server_), bulk.headers["x-request-id"]);
  ASSERT_EQ(bulk_records.size(), 2u) << "one record per name returned";
  EXPECT_EQ(Field(bulk_records[0], "/resource/name"), "on-list");
  EXPECT_EQ(Field(bulk_records[1], "/resource/name"), "second");
  EXPECT_EQ(client.Request("GET", "/v1.0/secrets/team-b/bulk").status, 403);
  EXPECT_EQ(client.Request("GET", "/v1.0/secrets/empty-ns/bulk").status, 400);
  HttpsClient none = server_->CertClient(svc_none_);
  EXPECT_EQ(none.Request("GET", "/v1.0/secrets/team-a/bulk").status, 403);

  // Batch: a denied or missing name does not hide the allowed ones.
  HttpsResponse batch = client.Request(
      "POST", BatchPath("team-a"), R"({"names": ["on-list", "off-list", "missing", "second"]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  nlohmann::json results = nlohmann::json::parse(batch.body, nullptr, false)["results"];
  EXPECT_EQ(results["on-list"], nlohmann::json({{"value", ValueOf("team-a", "on-list")}}));
  EXPECT_EQ(results["second"], nlohmann::json({{"value", "second-value"}}));
  EXPECT_EQ(results["off-list"]["error"]["code"], 403);
  EXPECT_EQ(results["missing"]["error"]["code"], 404);
  std::vector<nlohmann::json> batch_records =
      WithRequestId(AuditRecords(*server_), batch.headers["x-request-id"]);
  ASSERT_EQ(batch_records.size(), 4u) << "one record per name";
  EXPECT_EQ(Field(batch_records[1], "/outcome/reason"), "not_on_allowlist");
  EXPECT_EQ(Field(batch_records[2], "/outcome/reason"), "unknown_secret");

  nlohmann::json too_many = {{"names", nlohmann::json::array()}};
  for (int i = 0; i < 101; ++i) too_many["names"].push_back("n" + std::to_string(i));
  EXPECT_EQ(client.Request("POST", BatchPath("team-a"), too_many.dump()).status, 400);
  EXPECT_EQ(client.Request("POST", BatchPath("team-a"), R"({"names": []})").status, 400);
  EXPECT_EQ(client.Request("POST", BatchPath("team-a"), R"({"names": ["Bad Name"]})").status, 400);
  EXPECT_EQ(client.Request("POST", BatchPath("team-a"), "not json").status, 400);
}

TEST_F(DecryptTest, ValuesOfEveryUnicodeClassAndOfTheMaximumSizeRoundTripByteForByte) {
  HttpsClient admin = server_->AdminClient();
  std::string every_class;
  every_class += std::string("nul:") + '\0' + ".";
  for (char c = 1; c < 0x20; ++c) every_class += c;  // every C0 control
  every_class += "\x7f \"quote\" \\back\\slash /";
  every_class += "\xc3\xa9\xc2\x80";                      // 2-byte: é, U+0080
  every_class += "\xe2\x82\xac\xef\xbf\xbf\xe0\xa0\x80";  // 3-byte: €, U+FFFF, U+0800
  every_class += "\xf0\x9f\x94\x91\xf4\x8f\xbf\xbf";      // 4-byte: 🔑, U+10FFFF
  std::string largest;
  while (largest.size() + 4 <= 24'576) largest += "\xf0\x9f\x94\x91";
  largest += std::string(24'576 - largest.size(), 'x');
  ASSERT_EQ(largest.size(), 24'576u);
  ASSERT_TRUE(Create(admin, "team-a", "every-class", every_class, {"svc-a"}));
  ASSERT_TRUE(Create(admin, "team-a", "largest", largest, {"svc-a"}));
  EXPECT_EQ(
      admin.Request("POST", SecureValues("team-a"), Body("too-large", largest + "x", {"svc-a"}))
          .status,
      400);
  // Invalid UTF-8 cannot reach the server through nlohmann's dump, so it
  // is sent by hand: a lone continuation byte and a truncated sequence.
  for (const std::string bad : {"\x80", "\xe2\x82", "\xed\xa0\x80"}) {
    std::string body = R"({"apiVersion":"secret.grafana.app/v1beta1","kind":"SecureValue",)"
                       R"("metadata":{"name":"bad-utf8"},"spec":{"description":"d","value":"x)" +
                       bad + R"(","decrypters":["svc-a"]}})";
    EXPECT_EQ(admin.Request("POST", SecureValues("team-a"), body).status, 400);
  }

  HttpsClient client = server_->CertClient(svc_a_);
  for (const auto& [name, value] : {std::pair{std::string("every-class"), every_class},
                                    std::pair{std::string("largest"), largest}}) {
    SCOPED_TRACE(name);
    HttpsResponse grafana = client.Request("POST", DecryptPath("team-a", name));
    ASSERT_EQ(grafana.status, 200);
    EXPECT_TRUE(nlohmann::json::parse(grafana.body, nullptr, false)["value"] == value);
    HttpsResponse dapr = client.Request("GET", DaprPath("team-a", name));
    ASSERT_EQ(dapr.status, 200);
    EXPECT_TRUE(nlohmann::json::parse(dapr.body, nullptr, false)[name] == value);
  }
}

}  // namespace
}  // namespace strongroom::testing_support

// IdentifyCertificate and the identity-mapping entries (SPEC section 4):
// fingerprint users first, then service mappings, then the CN.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policies/fingerprint.h"
#include "policies/policies.h"
#include "tests/policies/policy_dir.h"
#include "tests/support/status_matchers.h"

namespace strongroom::policies {
namespace {

using ::testing::StartsWith;
using Kind = CertificateIdentity::Kind;

const std::string kAdminFingerprint(64, 'a');
const std::string kOtherFingerprint(64, 'b');

// The fingerprint of kAdminFingerprint written the way `openssl x509
// -fingerprint` prints it: upper case, colons between bytes.
std::string OpenSslSpelling(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (!out.empty()) out += ":";
    out += static_cast<char>(std::toupper(hex[i]));
    out += static_cast<char>(std::toupper(hex[i + 1]));
  }
  return out;
}

class CertificateIdentities : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("identities.json", R"({
  "certificates": [{"sha256": ")" + OpenSslSpelling(kAdminFingerprint) +
                                      R"(", "user": "admin"}],
  "services": [
    {"match": {"subject": "CN=legacy,O=Example"}, "name": "svc-a"},
    {"match": {"san_dns": "api.example.internal"}, "name": "svc-b"},
    {"match": {"san_uri": "spiffe://example.org/ns/prod/sa/billing"}, "name": "billing"}
  ]
})");
    StatusOr<std::shared_ptr<const Policy>> loaded = dir_.Load();
    ASSERT_OK(loaded);
    policy_ = *loaded;
  }
  CertificateIdentity Identify(const CertificateFacts& facts) const {
    return policy_->IdentifyCertificate(facts);
  }

  PolicyDir dir_;
  std::shared_ptr<const Policy> policy_;
};

CertificateFacts Facts(std::string common_name) {
  CertificateFacts facts;
  facts.fingerprint_sha256 = kOtherFingerprint;
  facts.subject = "CN=" + common_name + ",O=Example";
  facts.common_name = std::move(common_name);
  return facts;
}

TEST_F(CertificateIdentities, AnUnmappedCertificateIsTheServiceNamedByItsCn) {
  CertificateIdentity identity = Identify(Facts("demo-service"));
  EXPECT_EQ(identity.kind, Kind::kService);
  EXPECT_EQ(identity.name, "demo-service");
}

TEST_F(CertificateIdentities, AFingerprintEntryMakesAUserAndTakesPrecedence) {
  CertificateFacts facts = Facts("legacy");  // its subject also matches svc-a
  facts.fingerprint_sha256 = kAdminFingerprint;
  facts.uri_sans = {"spiffe://a", "spiffe://b"};  // ambiguous, were it a service
  CertificateIdentity identity = Identify(facts);
  EXPECT_EQ(identity.kind, Kind::kUser);
  EXPECT_EQ(identity.name, "admin");
}

// The front's fingerprints are in the normal spelling and are compared as
// they are (issue 19); any other spelling is normalized first.
TEST_F(CertificateIdentities, AFingerprintInAnySpellingFindsItsUser) {
  EXPECT_TRUE(IsNormalFingerprint(kAdminFingerprint));
  for (const std::string& spelling :
       {OpenSslSpelling(kAdminFingerprint), std::string(64, 'A'), kAdminFingerprint}) {
    EXPECT_EQ(IsNormalFingerprint(spelling), spelling == kAdminFingerprint) << spelling;
    CertificateFacts facts = Facts("legacy");
    facts.fingerprint_sha256 = spelling;
    CertificateIdentity identity = Identify(facts);
    EXPECT_EQ(identity.kind, Kind::kUser) << spelling;
    EXPECT_EQ(identity.name, "admin") << spelling;
  }
  EXPECT_FALSE(IsNormalFingerprint(std::string(63, 'a')));
  EXPECT_FALSE(IsNormalFingerprint(std::string(64, 'g')));
}

TEST_F(CertificateIdentities, ACnNeverMakesAUser) {
  CertificateIdentity identity = Identify(Facts("admin"));
  EXPECT_EQ(identity.kind, Kind::kService);
  EXPECT_EQ(identity.name, "admin");
}

TEST_F(CertificateIdentities, ServiceMatchesTakePrecedenceOverTheCn) {
  EXPECT_EQ(Identify(Facts("legacy")).name, "svc-a");
  CertificateFacts dns = Facts("web");
  dns.dns_sans = {"other.example", "API.Example.Internal"};
  EXPECT_EQ(Identify(dns).kind, Kind::kService);
  EXPECT_EQ(Identify(dns).name, "svc-b");
  CertificateFacts uri = Facts("pod-1234");
  uri.uri_sans = {"spiffe://example.org/ns/prod/sa/billing"};
  EXPECT_EQ(Identify(uri).name, "billing");
}

TEST_F(CertificateIdentities, SubjectAndUriMatchesAreExact) {
  CertificateFacts subject = Facts("x");
  subject.subject = "CN=LEGACY,O=Example";
  subject.common_name = "LEGACY";
  EXPECT_EQ(Identify(subject).name, "LEGACY");
  CertificateFacts uri = Facts("pod");
  uri.uri_sans = {"spiffe://example.org/ns/prod/sa/billing/x"};
  EXPECT_EQ(Identify(uri).name, "pod");
}

TEST_F(CertificateIdentities, TwoUriSansAreAmbiguousEvenWithACn) {
  CertificateFacts facts = Facts("demo-service");
  facts.uri_sans = {"spiffe://example.org/ns/prod/sa/billing", "spiffe://example.org/ns/x/sa/y"};
  CertificateIdentity identity = Identify(facts);
  EXPECT_EQ(identity.kind, Kind::kNone);
  EXPECT_TRUE(identity.name.empty());
  EXPECT_FALSE(identity.reason.empty());
}

TEST_F(CertificateIdentities, MatchesNamingTwoServicesAreAmbiguous) {
  CertificateFacts facts = Facts("legacy");
  facts.dns_sans = {"api.example.internal"};
  EXPECT_EQ(Identify(facts).kind, Kind::kNone);
}

TEST_F(CertificateIdentities, NoCnAndNoMatchIsNoIdentity) {
  CertificateFacts facts;
  facts.fingerprint_sha256 = kOtherFingerprint;
  facts.subject = "O=Example";
  CertificateIdentity identity = Identify(facts);
  EXPECT_EQ(identity.kind, Kind::kNone);
  EXPECT_FALSE(identity.reason.empty());
  facts.dns_sans = {"api.example.internal"};
  EXPECT_EQ(Identify(facts).name, "svc-b");
}

TEST(CertificateIdentity, BuiltInPolicyKnowsNoUsers) {
  CertificateFacts facts = Facts("admin");
  facts.fingerprint_sha256 = kAdminFingerprint;
  CertificateIdentity identity = Policy::BuiltIn()->IdentifyCertificate(facts);
  EXPECT_EQ(identity.kind, Kind::kService);
}

TEST(CertificateEntryErrors, DuplicateFingerprintsAreRefusedInAnySpelling) {
  PolicyDir dir;
  dir.Write("a.json",
            R"({"certificates": [{"sha256": ")" + kAdminFingerprint + R"(", "user": "admin"}]})");
  dir.Write("b.json", "{\"certificates\": [\n  {\"user\": \"root\",\n   \"sha256\": \"" +
                          OpenSslSpelling(kAdminFingerprint) + "\"}]}");
  EXPECT_EQ(dir.LoadError(), dir.Where("b.json", 3) + "certificate fingerprint is listed twice");
}

TEST(CertificateEntryErrors, FingerprintsMustBe32BytesOfHex) {
  for (std::string bad : {std::string(62, 'a'), std::string(66, 'a'), std::string(63, 'a') + "g",
                          std::string("sha256:") + std::string(64, 'a')}) {
    PolicyDir dir;
    dir.Write("a.json", "{\"certificates\": [\n{\"sha256\": \"" + bad + "\", \"user\": \"a\"}]}");
    EXPECT_THAT(dir.LoadError(), StartsWith(dir.Where("a.json", 2) + "sha256 must be")) << bad;
  }
}

TEST(CertificateEntryErrors, AServiceMatchHoldsExactlyOneField) {
  PolicyDir two;
  two.Write("a.json", R"({"services": [
  {"name": "x",
   "match": {"san_dns": "a.example",
             "san_uri": "spiffe://x"}}]})");
  EXPECT_THAT(two.LoadError(), StartsWith(two.Where("a.json", 4) + "only one of"));
  PolicyDir none;
  none.Write("a.json", "{\"services\": [\n{\"name\": \"x\",\n \"match\": {}}]}");
  EXPECT_THAT(none.LoadError(), StartsWith(none.Where("a.json", 3) + "exactly one of"));
  PolicyDir unknown;
  unknown.Write("a.json", "{\"services\": [{\"name\": \"x\",\n \"match\": {\"cn\": \"x\"}}]}");
  EXPECT_THAT(unknown.LoadError(),
              StartsWith(unknown.Where("a.json", 2) + "unknown member \"cn\""));
  PolicyDir missing;
  missing.Write("a.json", "{\"services\": [\n{\"name\": \"x\"}]}");
  EXPECT_EQ(missing.LoadError(), missing.Where("a.json", 2) + "missing member \"match\"");
}

TEST(CertificateEntryErrors, TheSameMatchMayNotNameTwoServices) {
  PolicyDir dir;
  dir.Write("a.json", R"({"services": [
  {"match": {"san_dns": "api.example.internal"}, "name": "a"},
  {"match": {"san_dns": "API.example.internal"}, "name": "b"}]})");
  EXPECT_EQ(dir.LoadError(), dir.Where("a.json", 3) + "this match is listed twice");
}

}  // namespace
}  // namespace strongroom::policies

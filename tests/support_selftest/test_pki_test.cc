// Self-tests of TestPki (tests/support/test_pki.h): what it issues verifies
// (or fails to) as OpenSSL's chain and purpose checks see it, and its
// fingerprints agree with the `openssl` command line.
#include "tests/support/test_pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;

X509Ptr LoadCertificate(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

X509CrlPtr LoadCrl(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return nullptr;
  return X509CrlPtr(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

EvpPkeyPtr LoadPrivateKey(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return nullptr;
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// VerifyError runs X509_verify_cert on `cert_path` against the CA at
// `ca_path` for `purpose` (X509_PURPOSE_SSL_CLIENT, ...), checking `crl` if
// given, and returns X509_V_OK or the verification error.
int VerifyError(const std::string& ca_path, const std::string& cert_path, int purpose,
                X509_CRL* crl = nullptr) {
  X509StorePtr store(X509_STORE_new());
  X509Ptr ca = LoadCertificate(ca_path);
  X509Ptr cert = LoadCertificate(cert_path);
  EXPECT_NE(ca, nullptr);
  EXPECT_NE(cert, nullptr);
  if (store == nullptr || ca == nullptr || cert == nullptr) return -1;
  EXPECT_EQ(X509_STORE_add_cert(store.get(), ca.get()), 1);
  if (crl != nullptr) {
    EXPECT_EQ(X509_STORE_add_crl(store.get(), crl), 1);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  StoreCtxPtr context(X509_STORE_CTX_new());
  EXPECT_EQ(X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr), 1);
  EXPECT_EQ(X509_STORE_CTX_set_purpose(context.get(), purpose), 1);
  int verified = X509_verify_cert(context.get());
  int error = X509_STORE_CTX_get_error(context.get());
  EXPECT_EQ(verified == 1, error == X509_V_OK);
  return error;
}

// AltNames returns the certificate's subjectAltName entries as "DNS:x",
// "URI:x" and "IP:a.b.c.d".
std::vector<std::string> AltNames(X509* cert) {
  std::vector<std::string> names;
  GeneralNamesPtr list(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; list != nullptr && i < sk_GENERAL_NAME_num(list.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(list.get(), i);
    if (name->type == GEN_DNS || name->type == GEN_URI) {
      const ASN1_IA5STRING* text =
          name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
      names.push_back((name->type == GEN_DNS ? "DNS:" : "URI:") +
                      std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                  ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 4) {
      const unsigned char* ip = ASN1_STRING_get0_data(name->d.iPAddress);
      names.push_back("IP:" + std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." +
                      std::to_string(ip[2]) + "." + std::to_string(ip[3]));
    }
  }
  return names;
}

// OpenSslCommandFingerprint returns what `openssl x509 -fingerprint -sha256`
// prints for `path`, without colons, in lower case.
std::string OpenSslCommandFingerprint(const std::string& path) {
  std::string command = "openssl x509 -in '" + path + "' -noout -fingerprint -sha256";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  EXPECT_EQ(::pclose(pipe), 0) << output;
  std::string hex;
  for (char c : output.substr(output.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return hex;
}

class TestPkiTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_{dir_.path()};
};

TEST_F(TestPkiTest, CaIsACertificateAuthorityForCertificatesAndCrls) {
  X509Ptr ca = LoadCertificate(pki_.ca_cert_path());
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(pki_.ca_cert_path(), dir_.Join("ca.pem"));
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);
}

TEST_F(TestPkiTest, ServerCertificateVerifiesForServerAuthOnLoopback) {
  IssuedCertificate server = pki_.IssueServer("server", {"strongroom.test"});
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), server.cert_path, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_NE(VerifyError(pki_.ca_cert_path(), server.cert_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  X509Ptr cert = LoadCertificate(server.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_THAT(AltNames(cert.get()),
              ::testing::ElementsAre("IP:127.0.0.1", "DNS:localhost", "DNS:strongroom.test"));
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST_F(TestPkiTest, ClientCertificateCarriesTheAskedSubjectAndNames) {
  IssuedCertificate client =
      pki_.IssueClient("svc", {.common_name = "billing",
                               .organization = "Example",
                               .dns_sans = {"billing.internal"},
                               .uri_sans = {"spiffe://example.org/billing"}});
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  X509Ptr cert = LoadCertificate(client.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  char org[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_organizationName, org,
                            sizeof org);
  EXPECT_STREQ(cn, "billing");
  EXPECT_STREQ(org, "Example");
  EXPECT_THAT(AltNames(cert.get()),
              ::testing::ElementsAre("DNS:billing.internal", "URI:spiffe://example.org/billing"));
}

TEST_F(TestPkiTest, ClientWithoutCommonNameHasAnEmptySubjectAndCriticalNames) {
  IssuedCertificate client =
      pki_.IssueClient("anonymous", {.uri_sans = {"spiffe://example.org/a"}});
  X509Ptr cert = LoadCertificate(client.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 0);
  int index = X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1);
  ASSERT_GE(index, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), index)), 1);
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST_F(TestPkiTest, ExpiredClientCertificateFailsVerification) {
  IssuedCertificate client = pki_.IssueClient("old", {.common_name = "old", .expired = true});
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TestPkiTest, ServerAuthOnlyClientFailsTheClientPurpose) {
  IssuedCertificate client =
      pki_.IssueClient("wrong", {.common_name = "wrong", .server_auth_only = true});
  X509Ptr cert = LoadCertificate(client.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_INVALID_PURPOSE);
}

TEST_F(TestPkiTest, PeerCertificateVerifiesAsServerAndAsClient) {
  IssuedCertificate peer = pki_.IssuePeer("member");
  X509Ptr cert = LoadCertificate(peer.cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), peer.cert_path, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), peer.cert_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST_F(TestPkiTest, CertificateFromAnotherCaFailsVerification) {
  TestPki other(dir_.path(), "Other CA", "other-ca");
  IssuedCertificate client = other.IssueClient("stranger", {.common_name = "stranger"});
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(TestPkiTest, FingerprintMatchesTheOpenSslCommandLine) {
  IssuedCertificate client = pki_.IssueClient("admin", {.common_name = "admin"});
  ASSERT_EQ(client.fingerprint_sha256.size(), 64u);
  EXPECT_EQ(client.fingerprint_sha256, OpenSslCommandFingerprint(client.cert_path));
  IssuedCertificate again = pki_.IssueClient("admin2", {.common_name = "admin"});
  EXPECT_NE(again.fingerprint_sha256, client.fingerprint_sha256);
}

TEST_F(TestPkiTest, KeysAreOwnerOnlyAndMatchTheirCertificates) {
  IssuedCertificate client = pki_.IssueClient("svc", {.common_name = "svc"});
  for (const std::string& key_path : {client.key_path, pki_.ca_key_path()}) {
    struct stat info {};
    ASSERT_EQ(::stat(key_path.c_str(), &info), 0) << key_path;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << key_path;
  }
  X509Ptr cert = LoadCertificate(client.cert_path);
  EvpPkeyPtr key = LoadPrivateKey(client.key_path);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
}

TEST_F(TestPkiTest, CrlRevokesOnlyTheNamedCertificates) {
  IssuedCertificate revoked = pki_.IssueClient("revoked", {.common_name = "revoked"});
  IssuedCertificate kept = pki_.IssueClient("kept", {.common_name = "kept"});
  std::string crl_path = pki_.WriteCrl("ca", {revoked.cert_path});
  EXPECT_EQ(crl_path, dir_.Join("ca.crl.pem"));
  X509CrlPtr crl = LoadCrl(crl_path);
  ASSERT_NE(crl, nullptr);
  X509Ptr ca = LoadCertificate(pki_.ca_cert_path());
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())), 1);
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), revoked.cert_path, X509_PURPOSE_SSL_CLIENT, crl.get()),
            X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), kept.cert_path, X509_PURPOSE_SSL_CLIENT, crl.get()),
            X509_V_OK);
}

TEST_F(TestPkiTest, EmptyCrlRevokesNothing) {
  IssuedCertificate client = pki_.IssueClient("svc", {.common_name = "svc"});
  X509CrlPtr crl = LoadCrl(pki_.WriteCrl("empty", {}));
  ASSERT_NE(crl, nullptr);
  // OpenSSL keeps no list at all for a CRL without entries: the count is -1.
  EXPECT_LE(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 0);
  EXPECT_EQ(VerifyError(pki_.ca_cert_path(), client.cert_path, X509_PURPOSE_SSL_CLIENT, crl.get()),
            X509_V_OK);
}

}  // namespace
}  // namespace strongroom::testing_support

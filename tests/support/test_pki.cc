#include "tests/support/test_pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "base/bytes.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

// Owners for the handles base/openssl_ptr.h has no owner for (only this
// file builds certificates).
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OpenSslDeleter<X509_REVOKED_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpenSslDeleter<ASN1_TIME_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;

constexpr long kHour = 3600;
constexpr long kDay = 24 * kHour;
constexpr int kCaValidDays = 30;

// Fail reports why the PKI could not be made and stops the test binary (see
// the header): a test must not go on with a missing certificate.
[[noreturn]] void Fail(const std::string& what) {
  ADD_FAILURE() << "TestPki: " << what;
  std::fprintf(stderr, "TestPki: %s\n", what.c_str());
  std::fflush(nullptr);
  std::abort();
}

// Check fails with OpenSSL's queued reason unless `ok`.
void Check(bool ok, const std::string& context) {
  if (!ok) Fail(OpenSslError(context).message());
}

EvpPkeyPtr NewP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Check(key != nullptr, "EVP_PKEY_Q_keygen(EC P-256)");
  return key;
}

// NewCertificate returns an unsigned v3 certificate for `key` with a random
// positive 128-bit serial, the given subject and validity (seconds from now),
// and no issuer or extensions yet.
X509Ptr NewCertificate(EVP_PKEY* key, const std::string& common_name,
                       const std::string& organization, long not_before, long not_after) {
  X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  BignumPtr serial(BN_new());
  Check(serial != nullptr && BN_rand(serial.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1,
        "BN_rand");
  Check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
        "BN_to_ASN1_INTEGER");
  Check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before) != nullptr, "notBefore");
  Check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after) != nullptr, "notAfter");
  X509_NAME* subject = X509_get_subject_name(cert.get());  // borrowed from cert
  auto add_entry = [subject](const char* field, const std::string& value) {
    if (value.empty()) return;
    const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
    Check(X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8, bytes,
                                     static_cast<int>(value.size()), -1, 0) == 1,
          std::string("subject ") + field);
  };
  add_entry("O", organization);
  add_entry("CN", common_name);
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  return cert;
}

// AddExtension adds the extension OpenSSL's configuration syntax `value`
// describes (for example "critical,CA:TRUE"); `issuer` supplies the
// authority key identifier.
void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  Check(extension != nullptr, std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  Check(X509_add_ext(cert, extension.get(), -1) == 1, "X509_add_ext");  // copies
}

// AddSubjectAltNames adds subjectAltName with `names` ({GEN_DNS, "x"}, ...),
// built entry by entry so that no value is parsed as configuration syntax.
void AddSubjectAltNames(X509* cert, const std::vector<std::pair<int, std::string>>& names,
                        bool critical) {
  GeneralNamesPtr list(sk_GENERAL_NAME_new_null());
  Check(list != nullptr, "sk_GENERAL_NAME_new_null");
  for (const auto& [type, value] : names) {
    GeneralNamePtr name(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0));
    Check(name != nullptr, "subjectAltName entry " + value);
    Check(sk_GENERAL_NAME_push(list.get(), name.get()) > 0, "sk_GENERAL_NAME_push");
    name.release();  // owned by `list` now
  }
  Check(X509_add1_ext_i2d(cert, NID_subject_alt_name, list.get(), critical ? 1 : 0,
                          X509V3_ADD_DEFAULT) == 1,
        "subjectAltName");
}

// BioText returns everything written to the memory BIO `bio`.
std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? static_cast<std::size_t>(size) : 0);
}

BioPtr NewMemoryBio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr, "BIO_new");
  return bio;
}

void WriteOrFail(const std::string& path, const std::string& text, unsigned mode) {
  if (!WriteFileBytes(path, text, mode)) Fail("cannot write " + path);
}

void WriteCertificate(X509* cert, const std::string& path) {
  BioPtr bio = NewMemoryBio();
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  WriteOrFail(path, BioText(bio.get()), 0644);
}

void WritePrivateKey(EVP_PKEY* key, const std::string& path) {
  BioPtr bio = NewMemoryBio();
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  WriteOrFail(path, BioText(bio.get()), 0600);
}

std::string Sha256Fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(X509_digest(cert, EVP_sha256(), digest, &length) == 1, "X509_digest");
  return HexEncode(ByteSpan(digest, length));
}

X509Ptr ReadCertificate(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  Check(bio != nullptr, "cannot open " + path);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  Check(cert != nullptr, "no PEM certificate in " + path);
  return cert;
}

}  // namespace

struct TestPki::LeafProfile {
  std::string common_name;
  std::string organization;
  const char* extended_key_usage;                      // configuration syntax
  std::vector<std::pair<int, std::string>> alt_names;  // {GEN_DNS | GEN_URI | GEN_IPADD, value}
  long not_before;                                     // seconds from now
  long not_after;
};

TestPki::TestPki(std::string dir, std::string ca_common_name, std::string stem)
    : dir_(std::move(dir)),
      ca_cert_path_(dir_ + "/" + stem + ".pem"),
      ca_key_path_(dir_ + "/" + stem + ".key"),
      ca_key_(NewP256Key()) {
  ca_cert_ = NewCertificate(ca_key_.get(), ca_common_name, "", -kHour, kCaValidDays * kDay);
  X509* cert = ca_cert_.get();
  Check(X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1, "X509_set_issuer_name");
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  AddExtension(cert, cert, NID_authority_key_identifier, "keyid:always");
  Check(X509_sign(cert, ca_key_.get(), EVP_sha256()) > 0, "X509_sign (CA)");
  WritePrivateKey(ca_key_.get(), ca_key_path_);
  WriteCertificate(cert, ca_cert_path_);
}

IssuedCertificate TestPki::IssueServer(const std::string& stem,
                                       std::vector<std::string> extra_dns) {
  LeafProfile profile{.common_name = "localhost",
                      .organization = "",
                      .extended_key_usage = "serverAuth",
                      .alt_names = {{GEN_IPADD, "127.0.0.1"}, {GEN_DNS, "localhost"}},
                      .not_before = -kHour,
                      .not_after = 30 * kDay};
  for (std::string& name : extra_dns) profile.alt_names.emplace_back(GEN_DNS, std::move(name));
  return Issue(stem, profile);
}

IssuedCertificate TestPki::IssuePeer(const std::string& stem) {
  LeafProfile profile{.common_name = "localhost",
                      .organization = "",
                      .extended_key_usage = "serverAuth,clientAuth",
                      .alt_names = {{GEN_IPADD, "127.0.0.1"}, {GEN_DNS, "localhost"}},
                      .not_before = -kHour,
                      .not_after = 30 * kDay};
  return Issue(stem, profile);
}

IssuedCertificate TestPki::IssueClient(const std::string& stem,
                                       const ClientCertificateOptions& options) {
  LeafProfile profile{.common_name = options.common_name,
                      .organization = options.organization,
                      .extended_key_usage = options.server_auth_only ? "serverAuth" : "clientAuth",
                      .alt_names = {},
                      .not_before = options.expired ? -2 * kDay : -kHour,
                      .not_after = options.expired ? -kDay : options.valid_days * kDay};
  for (const std::string& name : options.dns_sans) profile.alt_names.emplace_back(GEN_DNS, name);
  for (const std::string& uri : options.uri_sans) profile.alt_names.emplace_back(GEN_URI, uri);
  return Issue(stem, profile);
}

IssuedCertificate TestPki::Issue(const std::string& stem, const LeafProfile& profile) {
  EvpPkeyPtr key = NewP256Key();
  X509Ptr cert = NewCertificate(key.get(), profile.common_name, profile.organization,
                                profile.not_before, profile.not_after);
  X509* leaf = cert.get();
  X509* ca = ca_cert_.get();
  Check(X509_set_issuer_name(leaf, X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  AddExtension(leaf, ca, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(leaf, ca, NID_key_usage, "critical,digitalSignature");
  AddExtension(leaf, ca, NID_ext_key_usage, profile.extended_key_usage);
  AddExtension(leaf, ca, NID_subject_key_identifier, "hash");
  AddExtension(leaf, ca, NID_authority_key_identifier, "keyid:always");
  if (!profile.alt_names.empty()) {
    bool empty_subject = profile.common_name.empty() && profile.organization.empty();
    AddSubjectAltNames(leaf, profile.alt_names, /*critical=*/empty_subject);
  }
  Check(X509_sign(leaf, ca_key_.get(), EVP_sha256()) > 0, "X509_sign (" + stem + ")");

  IssuedCertificate issued{.cert_path = dir_ + "/" + stem + ".pem",
                           .key_path = dir_ + "/" + stem + ".key",
                           .fingerprint_sha256 = Sha256Fingerprint(leaf)};
  WritePrivateKey(key.get(), issued.key_path);
  WriteCertificate(leaf, issued.cert_path);
  return issued;
}

std::string TestPki::WriteCrl(const std::string& stem,
                              const std::vector<std::string>& revoked_cert_paths) {
  X509CrlPtr crl(X509_CRL_new());
  Check(crl != nullptr, "X509_CRL_new");
  Check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "X509_CRL_set_version");
  Check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert_.get())) == 1,
        "X509_CRL_set_issuer_name");
  Asn1TimePtr this_update(X509_gmtime_adj(nullptr, -kHour));
  Asn1TimePtr next_update(X509_gmtime_adj(nullptr, 30 * kDay));
  Check(this_update != nullptr && next_update != nullptr, "X509_gmtime_adj");
  Check(X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) == 1, "CRL lastUpdate");
  Check(X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1, "CRL nextUpdate");

  for (const std::string& path : revoked_cert_paths) {
    X509Ptr cert = ReadCertificate(path);
    X509RevokedPtr entry(X509_REVOKED_new());
    Check(entry != nullptr, "X509_REVOKED_new");
    Check(X509_REVOKED_set_serialNumber(entry.get(), X509_get_serialNumber(cert.get())) == 1,
          "X509_REVOKED_set_serialNumber");
    Check(X509_REVOKED_set_revocationDate(entry.get(), this_update.get()) == 1,
          "X509_REVOKED_set_revocationDate");
    Check(X509_CRL_add0_revoked(crl.get(), entry.get()) == 1, "X509_CRL_add0_revoked");
    entry.release();  // owned by the CRL now
  }
  Check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");

  Asn1IntegerPtr number(ASN1_INTEGER_new());
  Check(number != nullptr && ASN1_INTEGER_set(number.get(), next_crl_number_++) == 1, "CRL number");
  Check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) == 1,
        "X509_CRL_add1_ext_i2d(crlNumber)");
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, ca_cert_.get(), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr key_id(
      X509V3_EXT_conf_nid(nullptr, &context, NID_authority_key_identifier, "keyid:always"));
  Check(key_id != nullptr && X509_CRL_add_ext(crl.get(), key_id.get(), -1) == 1,
        "CRL authorityKeyIdentifier");
  Check(X509_CRL_sign(crl.get(), ca_key_.get(), EVP_sha256()) > 0, "X509_CRL_sign");

  BioPtr bio = NewMemoryBio();
  Check(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "PEM_write_bio_X509_CRL");
  std::string path = dir_ + "/" + stem + ".crl.pem";
  WriteOrFail(path, BioText(bio.get()), 0644);
  return path;
}

}  // namespace strongroom::testing_support

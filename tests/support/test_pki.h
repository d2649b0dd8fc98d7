// tests/support/test_pki.h — a throwaway X.509 PKI for tests: one CA (EC
// P-256) that issues server and client certificates and CRLs, all written as
// PEM files into a directory the caller owns (usually a TempDir).
//
// Every certificate and key is made with the OpenSSL 3 C API in-process; no
// `openssl` command runs. Certificates are signed with ECDSA-SHA256 and carry
// a random 128-bit serial, subject/authority key identifiers and the key
// usages named below, so they pass OpenSSL's purpose checks as the server
// applies them.
//
// SECURITY: test-only. The CA key sits unencrypted in <dir>/<stem>.key.
//
// Thread-safety: a TestPki is not thread-safe (issue from one thread); the
// files it wrote may be read from anywhere. Any failure records a test
// failure with the reason and aborts the test binary (as TestToken does), so
// a test never runs against a half-made PKI.
#pragma once

#include <string>
#include <vector>

#include "base/openssl_ptr.h"

namespace strongroom::testing_support {

// IssuedCertificate names the files of one issued certificate.
struct IssuedCertificate {
  std::string cert_path;           // PEM certificate (mode 0644)
  std::string key_path;            // PEM PKCS#8 private key, unencrypted (mode 0600)
  std::string fingerprint_sha256;  // 64 lower-case hex digits: SHA-256 of the DER certificate
};

struct ClientCertificateOptions {
  // common_name is the subject CN. Default empty: no CN in the subject.
  std::string common_name;
  // organization is the subject O. Default empty: none.
  std::string organization;
  // dns_sans and uri_sans become subjectAltName DNS: and URI: entries, in
  // this order (DNS first). Default none: no subjectAltName extension. The
  // extension is critical when the subject is empty (RFC 5280 4.2.1.6).
  std::vector<std::string> dns_sans;
  std::vector<std::string> uri_sans;
  // valid_days is the lifetime from now (notBefore is one hour ago, to
  // tolerate clock skew). Default 30.
  int valid_days = 30;
  // expired makes notBefore two days ago and notAfter one day ago (ignoring
  // valid_days). Default false.
  bool expired = false;
  // server_auth_only puts extendedKeyUsage serverAuth (only) in place of
  // clientAuth: a certificate a server must refuse as a client. Default false.
  bool server_auth_only = false;
};

class TestPki {
 public:
  // TestPki creates a CA: EC P-256 key, self-signed, subject CN=ca_common_name,
  // basicConstraints critical CA:TRUE, keyUsage critical keyCertSign|cRLSign,
  // valid 30 days, written to <dir>/<stem>.pem and <dir>/<stem>.key (0600).
  // REQUIRES: `dir` exists and is writable; no other TestPki writes the same
  // stems into it.
  explicit TestPki(std::string dir, std::string ca_common_name = "Strongroom Test CA",
                   std::string stem = "ca");
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // dir is the directory given to the constructor.
  const std::string& dir() const { return dir_; }
  // ca_cert_path is <dir>/<stem>.pem, the CA certificate.
  const std::string& ca_cert_path() const { return ca_cert_path_; }
  // ca_key_path is <dir>/<stem>.key, the CA private key.
  const std::string& ca_key_path() const { return ca_key_path_; }

  // IssueServer writes <dir>/<stem>.pem/.key: a fresh P-256 key, subject
  // CN=localhost, extendedKeyUsage serverAuth, keyUsage critical
  // digitalSignature, subjectAltName IP:127.0.0.1, DNS:localhost and each of
  // `extra_dns`, valid 30 days. Overwrites files of the same stem.
  IssuedCertificate IssueServer(const std::string& stem = "server",
                                std::vector<std::string> extra_dns = {});
  // IssuePeer is IssueServer with extendedKeyUsage serverAuth and clientAuth:
  // for a server that is also a client of its peers and of itself (an etcd
  // member: peer TLS both ways, and its JSON gateway calls its own gRPC port
  // with the server certificate).
  IssuedCertificate IssuePeer(const std::string& stem);
  // IssueClient writes <dir>/<stem>.pem/.key: a fresh P-256 key, the subject
  // and subjectAltName `options` give, extendedKeyUsage clientAuth (serverAuth
  // if options.server_auth_only), keyUsage critical digitalSignature.
  // Overwrites files of the same stem.
  IssuedCertificate IssueClient(const std::string& stem, const ClientCertificateOptions& options);
  // WriteCrl writes <dir>/<stem>.crl.pem, a v2 CRL signed by the CA (this
  // update one hour ago, next update in 30 days, CRL number 1 and upward per
  // call) listing the serials of the certificates in `revoked_cert_paths`
  // (PEM files this CA issued), and returns its path. An empty list writes a
  // valid CRL that revokes nothing.
  std::string WriteCrl(const std::string& stem, const std::vector<std::string>& revoked_cert_paths);

 private:
  struct LeafProfile;  // what IssueServer/IssueClient ask for; defined in the .cc
  IssuedCertificate Issue(const std::string& stem, const LeafProfile& profile);

  std::string dir_;
  std::string ca_cert_path_;
  std::string ca_key_path_;
  EvpPkeyPtr ca_key_;
  X509Ptr ca_cert_;
  long next_crl_number_ = 1;
};

}  // namespace strongroom::testing_support

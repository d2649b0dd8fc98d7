// base/certificate_facts.h — what the TLS layer verified about a client
// certificate. Plain values.
//
// It lives in base/ because two modules that must not know each other share
// it: the TLS front (api/http) fills it in during the handshake, and
// policies/ decides from it who the holder is (CertificateIdentity). Kept
// here, the front needs nothing of policies/ and policies/ nothing of HTTP.
// Thread-safety: a plain value.
#pragma once

#include <string>
#include <vector>

namespace strongroom {

// CertificateFacts: what the TLS layer verified about a client certificate.
struct CertificateFacts {
  std::string fingerprint_sha256;  // 64 lowercase hex, no colons
  std::string subject;             // one-line RFC 2253 form, e.g. "CN=demo-service,O=Example"
  std::string common_name;         // empty when none
  std::vector<std::string> dns_sans, uri_sans;
};

}  // namespace strongroom

// policies/certificate_identity.h — who a verified client certificate is
// (SPEC section 4): a user only through an explicit fingerprint entry, else a
// service named by a mapping or by its CN.
// Thread-safety: plain values and a pure function.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "base/certificate_facts.h"

namespace strongroom::policies {

// CertificateFacts: what the TLS layer verified about a client certificate
// (base/certificate_facts.h, shared with the TLS front).
using CertificateFacts = ::strongroom::CertificateFacts;

// CertificateIdentity: who a verified client certificate is (SPEC 4).
struct CertificateIdentity {
  enum class Kind { kNone, kUser, kService } kind = Kind::kNone;
  std::string name;    // user login or service name
  std::string reason;  // why kNone (e.g. "more than one URI SAN", "no common name")
};

// CertificateUser: an identity-file entry making the certificate with this
// fingerprint (64 lowercase hex, no colons) the user `user`.
struct CertificateUser {
  std::string fingerprint_sha256;
  std::string user;
};

// ServiceMapping: an identity-file entry naming the service whose certificate
// has `value` as its subject, one of its DNS SANs or its URI SAN.
struct ServiceMapping {
  enum class Field { kSubject, kDnsSan, kUriSan } field = Field::kSubject;
  std::string value;
  std::string name;
};

// IdentifyCertificate: a `users` fingerprint entry makes the certificate that
// user (it takes precedence over everything else). Otherwise the certificate
// is a service: more than one URI SAN -> kNone (ambiguous, even with a CN);
// else the `services` entries matching its subject, a DNS SAN (compared
// without case) or its URI SAN give its name (entries naming two different
// services -> kNone); else its CN; no CN -> kNone.
// SECURITY: a certificate never becomes a user through its CN or a SAN.
CertificateIdentity IdentifyCertificate(std::span<const CertificateUser> users,
                                        std::span<const ServiceMapping> services,
                                        const CertificateFacts& facts);

}  // namespace strongroom::policies

#include "policies/certificate_identity.h"

#include <algorithm>
#include <string_view>

#include "policies/fingerprint.h"
#include "policies/names.h"

namespace strongroom::policies {
namespace {

bool Matches(const ServiceMapping& mapping, const CertificateFacts& facts) {
  switch (mapping.field) {
    case ServiceMapping::Field::kSubject:
      return !facts.subject.empty() && facts.subject == mapping.value;
    case ServiceMapping::Field::kDnsSan:
      return std::any_of(facts.dns_sans.begin(), facts.dns_sans.end(), [&](const std::string& san) {
        return EqualsIgnoringAsciiCase(san, mapping.value);
      });
    case ServiceMapping::Field::kUriSan:
      return facts.uri_sans.size() == 1 && facts.uri_sans.front() == mapping.value;
  }
  return false;
}

CertificateIdentity None(std::string reason) {
  return CertificateIdentity{CertificateIdentity::Kind::kNone, "", std::move(reason)};
}

}  // namespace

CertificateIdentity IdentifyCertificate(std::span<const CertificateUser> users,
                                        std::span<const ServiceMapping> services,
                                        const CertificateFacts& facts) {
  // Normalized only when it is not in the normal spelling already (the
  // front's always is): the same comparison without copies.
  std::optional<std::string> normalized;
  std::optional<std::string_view> fingerprint;
  if (IsNormalFingerprint(facts.fingerprint_sha256)) {
    fingerprint = facts.fingerprint_sha256;
  } else if ((normalized = NormalizeFingerprint(facts.fingerprint_sha256))) {
    fingerprint = *normalized;
  }
  if (fingerprint.has_value()) {
    for (const CertificateUser& entry : users) {
      if (entry.fingerprint_sha256 == *fingerprint) {
        return CertificateIdentity{CertificateIdentity::Kind::kUser, entry.user, ""};
      }
    }
  }
  // SECURITY: two URI SANs (two SPIFFE IDs) make the certificate ambiguous;
  // picking either would let one workload act as another.
  if (facts.uri_sans.size() > 1) return None("more than one URI SAN (ambiguous)");
  const ServiceMapping* found = nullptr;
  for (const ServiceMapping& mapping : services) {
    if (!Matches(mapping, facts)) continue;
    if (found != nullptr && found->name != mapping.name) {
      return None("service mappings name both '" + found->name + "' and '" + mapping.name + "'");
    }
    found = &mapping;
  }
  if (found != nullptr)
    return CertificateIdentity{CertificateIdentity::Kind::kService, found->name, ""};
  if (facts.common_name.empty()) return None("no common name and no service mapping");
  return CertificateIdentity{CertificateIdentity::Kind::kService, facts.common_name, ""};
}

}  // namespace strongroom::policies

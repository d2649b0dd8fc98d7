// Fuzz target: policy files (policies/, the JSON files of the policy
// directory): up to four files cut from the input at "\n----\n" lines,
// loaded as Policy::LoadDirectory loads them (SourceDocument::Parse, then
// PolicyFileParser's two passes), then what the server asks of a loaded
// policy: every file binding passes the run-time binding rules, and
// certificates are identified through its mappings.
#include <cstdint>

#include "base/certificate_facts.h"
#include "fuzz/fuzz_support.h"
#include "policies/policy.h"
#include "policies/policy_file_parser.h"
#include "policies/source_document.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  std::vector<policies::SourceDocument> documents;
  std::vector<std::string_view> pieces = fuzz::SplitPieces(fuzz::AsText(data, size), 4);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    StatusOr<policies::SourceDocument> document =
        policies::SourceDocument::Parse("/policies/" + std::to_string(i) + ".json", pieces[i]);
    if (!document.has_value()) {
      fuzz::Check(document.error().code() == StatusCode::kInvalidArgument,
                  "a bad file is not kInvalidArgument");
      return 0;
    }
    (void)document->LineOf("/bindings/0/role");
    documents.push_back(std::move(*document));
  }
  policies::PolicyFileParser parser;
  for (const policies::SourceDocument& document : documents) {
    if (Status added = parser.AddRoles(document); !added.ok()) {
      fuzz::Check(added.code() == StatusCode::kInvalidArgument, "a bad role is not kInvalidArgument");
      return 0;
    }
  }
  for (std::size_t i = 0; i < documents.size(); ++i) {
    Status added = parser.AddBindingsAndIdentities(documents[i], std::to_string(i) + ".json");
    if (!added.ok()) {
      fuzz::Check(added.code() == StatusCode::kInvalidArgument,
                  "a bad binding is not kInvalidArgument");
      return 0;
    }
  }
  std::shared_ptr<const policies::Policy> policy = parser.Finish(documents.size());
  fuzz::Check(policy != nullptr && policy->file_count() == documents.size(), "no policy");
  for (const policies::Binding& binding : policy->bindings()) {
    fuzz::Check(policy->ValidateBinding(binding).ok(), "a loaded binding breaks the binding rules");
  }
  for (const std::string& role : policy->RoleNames()) {
    fuzz::Check(policy->FindRole(role) != nullptr, "a listed role is not found");
  }
  CertificateFacts facts;
  facts.fingerprint_sha256 = std::string(64, 'a');
  facts.subject = "CN=svc-a,O=y";
  facts.common_name = "svc-a";
  facts.dns_sans = {"api.example.internal"};
  facts.uri_sans = {"spiffe://example.org/ns/prod/sa/billing"};
  (void)policy->IdentifyCertificate(facts);
  facts.uri_sans.push_back("spiffe://example.org/other");
  (void)policy->IdentifyCertificate(facts);
  return 0;
}

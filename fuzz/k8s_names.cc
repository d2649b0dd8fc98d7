// Fuzz target: the Kubernetes name rules (api/wire/k8s_names.h: object,
// namespace, generated names, label keys and values) and the
// percent-decoding of query text they are often applied to
// (api/wire/query_string.h). Each accepted name is checked against the
// documented character set and length.
#include <cstdint>

#include "api/wire/k8s_names.h"
#include "api/wire/query_string.h"
#include "fuzz/fuzz_support.h"

namespace {

bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

void Names(std::string_view text) {
  using namespace strongroom;
  if (api::ValidateObjectName(text).ok()) {
    fuzz::Check(!text.empty() && text.size() <= 253 && LowerAlnum(text.front()) &&
                    LowerAlnum(text.back()),
                "an invalid object name accepted");
    for (char c : text) fuzz::Check(LowerAlnum(c) || c == '-' || c == '.', "bad name character");
  }
  if (api::ValidateNamespaceName(text).ok()) {
    fuzz::Check(!text.empty() && text.size() <= 63, "an invalid namespace accepted");
    for (char c : text) fuzz::Check(LowerAlnum(c) || c == '-', "bad namespace character");
  }
  (void)api::ValidateLabelKey(text);
  if (api::ValidateLabelValue(text).ok()) fuzz::Check(text.size() <= 63, "label value too long");
  StatusOr<std::string> generated = api::GenerateObjectName(text);
  if (generated.has_value()) {
    fuzz::Check(api::ValidateObjectName(*generated).ok(), "a generated name is invalid");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  std::string_view text = fuzz::AsText(data, size);
  Names(text);
  for (bool plus_is_space : {true, false}) {
    StatusOr<std::string> decoded = api::PercentDecode(text, plus_is_space);
    if (decoded.has_value()) {
      fuzz::Check(decoded->size() <= text.size(), "decoding grew the text");
      Names(*decoded);
    }
  }
  return 0;
}

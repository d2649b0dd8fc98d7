// Fuzz target: Kubernetes label selectors (api/wire/label_selector.h,
// ?labelSelector= of the SecureValue list), parsed and matched against a
// few label sets.
#include <cstdint>

#include "api/wire/k8s_names.h"
#include "api/wire/label_selector.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  StatusOr<api::LabelSelector> selector = api::LabelSelector::Parse(fuzz::AsText(data, size));
  if (!selector.has_value()) {
    fuzz::Check(selector.error().code() == StatusCode::kInvalidArgument,
                "a bad selector is not kInvalidArgument");
    return 0;
  }
  for (const api::LabelSelector::Requirement& requirement : selector->requirements()) {
    fuzz::Check(api::ValidateLabelKey(requirement.key).ok(), "an invalid key accepted");
    for (const std::string& value : requirement.values) {
      fuzz::Check(api::ValidateLabelValue(value).ok(), "an invalid value accepted");
    }
  }
  const std::vector<std::pair<std::string, std::string>> sets[] = {
      {},
      {{"app", "grafana"}, {"env", "prod"}},
      {{"a", ""}, {"example.com/tier", "db"}, {"z", "9"}},
  };
  for (const auto& labels : sets) (void)selector->Matches(labels);
  fuzz::Check(!selector->empty() || selector->Matches(sets[1]), "an empty selector refused");
  return 0;
}

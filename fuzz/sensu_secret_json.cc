// Fuzz target: a Sensu secret PUT body (api/sensu/sensu_json.h,
// ParseSensuSecret) for the secret "db" of namespace "default".
#include <cstdint>

#include "api/sensu/sensu_json.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  StatusOr<api::SensuSecretInput> input =
      api::ParseSensuSecret(fuzz::AsText(data, size), "default", "db");
  if (!input.has_value()) {
    fuzz::Check(input.error().code() == StatusCode::kInvalidArgument,
                "a bad body is not kInvalidArgument");
    return 0;
  }
  fuzz::Check(!input->id.empty() && !input->provider.empty(), "spec.id or spec.provider empty");
  fuzz::Check(!input->decrypters || input->decrypters->size() <= 64, "more than 64 decrypters");
  return 0;
}

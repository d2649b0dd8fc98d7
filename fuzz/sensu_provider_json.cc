// Fuzz target: a Sensu provider PUT body (api/sensu/sensu_json.h,
// ParseSensuProvider) for the provider "vault", then the env allowlist
// match (EnvAllowed) the resolve route runs on what was accepted.
#include <cstdint>

#include "api/sensu/sensu_json.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  StatusOr<api::SensuProviderInput> input =
      api::ParseSensuProvider(fuzz::AsText(data, size), "vault");
  if (!input.has_value()) {
    fuzz::Check(input.error().code() == StatusCode::kInvalidArgument,
                "a bad body is not kInvalidArgument");
    return 0;
  }
  fuzz::Check(input->type == api::kProviderTypeStrongroom || input->type == api::kProviderTypeEnv,
              "a provider type other than strongroom or env");
  for (const std::string& entry : input->allow) {
    fuzz::Check(entry != "*", "a bare * allowed");
    std::string name = entry;
    if (!name.empty() && name.back() == '*') name.back() = 'X';
    fuzz::Check(api::EnvAllowed(input->allow, name), "an allow entry does not allow its own name");
  }
  (void)api::EnvAllowed(input->allow, "");
  (void)api::EnvAllowed(input->allow, "HOME");
  return 0;
}

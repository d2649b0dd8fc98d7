// Fuzz target: a SecureValue create or replace body
// (api/grafana/secure_value_json.h, ParseSecureValue), parsed as the
// create route does (no path name) and as the replace route does (the
// path's name), and what a successful parse promises.
#include <cstdint>

#include "api/grafana/secure_value_json.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  fuzz::InstallArena();
  std::string_view body = fuzz::AsText(data, size);
  for (bool for_create : {true, false}) {
    StatusOr<api::SecureValueInput> input =
        api::ParseSecureValue(body, "default", for_create, for_create ? "" : "db-password");
    if (!input.has_value()) {
      fuzz::Check(input.error().code() == StatusCode::kInvalidArgument,
                  "a bad body is not kInvalidArgument");
      continue;
    }
    fuzz::Check(input->value.size() >= 1 && input->value.size() <= api::kMaxValueBytes,
                "value size outside 1..24576");
    fuzz::Check(input->decrypters.size() <= 64, "more than 64 decrypters");
    fuzz::Check(for_create || input->name.empty() || input->name == "db-password",
                "replace accepted another name than the path's");
    for (std::size_t i = 1; i < input->labels.size(); ++i) {
      fuzz::Check(input->labels[i - 1].first < input->labels[i].first,
                  "labels not sorted by unique key");
    }
  }
  return 0;
}

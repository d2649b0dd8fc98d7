// Fuzz target: Sensu's labelSelector and fieldSelector expressions
// (api/wire/sensu_selector.h), parsed as the secrets list parses them
// (labels: any key; fields: secret.name and secret.provider only) and
// matched against a record.
#include <cstdint>
#include <optional>

#include "api/wire/sensu_selector.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  static constexpr std::string_view kFields[] = {"secret.name", "secret.provider"};
  std::string_view text = fuzz::AsText(data, size);
  api::SensuSelector::Lookup lookup = [](std::string_view key) -> std::optional<std::string_view> {
    if (key == "secret.name") return "db-password";
    if (key == "secret.provider") return "env";
    if (key == "region") return "us-west-1";
    return std::nullopt;
  };
  for (std::span<const std::string_view> fields :
       {std::span<const std::string_view>(), std::span<const std::string_view>(kFields)}) {
    StatusOr<api::SensuSelector> selector = api::SensuSelector::Parse(text, fields);
    if (!selector.has_value()) {
      fuzz::Check(selector.error().code() == StatusCode::kInvalidArgument,
                  "a bad selector is not kInvalidArgument");
      continue;
    }
    (void)selector->Matches(lookup);
    (void)selector->Matches([](std::string_view) { return std::optional<std::string_view>(); });
  }
  return 0;
}

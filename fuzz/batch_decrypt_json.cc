// Fuzz target: the batch decrypt body {"names": [...]}
// (api/decrypt/decrypt.h, BatchNames).
#include <cstdint>
#include <set>

#include "api/decrypt/decrypt.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  StatusOr<std::vector<std::string>> names =
      api::BatchNames(std::string(fuzz::AsText(data, size)));
  if (!names.has_value()) {
    fuzz::Check(names.error().code() == StatusCode::kInvalidArgument,
                "a bad body is not kInvalidArgument");
    return 0;
  }
  fuzz::Check(!names->empty() && names->size() <= 100, "not 1..100 names");
  std::set<std::string> distinct(names->begin(), names->end());
  fuzz::Check(distinct.size() == names->size(), "a name answered twice");
  return 0;
}

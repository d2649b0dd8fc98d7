// Fuzz target: `strongroom serve`'s TOML configuration
// (appliance/server_config.h, LoadServerConfig, read from an in-memory
// file), then what the server does with an accepted one: the listen
// address split and GET /api/admin/settings' redacted rendering.
// Debian's toml++ is an uninstrumented shared library: coverage guides
// through our key table, setters and checks, not toml++'s parser.
#include <cstdint>

#include "appliance/server_config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  static fuzz::MemoryFile* file = new fuzz::MemoryFile();
  file->Replace(fuzz::AsText(data, size));
  StatusOr<appliance::ServerConfig> config = appliance::LoadServerConfig(file->path());
  if (!config.has_value()) {
    fuzz::Check(config.error().code() == StatusCode::kInvalidArgument,
                "a bad file is not kInvalidArgument");
    return 0;
  }
  std::string host;
  std::uint16_t port = 0;
  fuzz::Check(appliance::SplitListen(config->listen, &host, &port).ok(),
              "an accepted listen address does not split");
  std::string settings = appliance::EffectiveSettingsJson(*config);
  fuzz::Check(!settings.empty(), "empty settings");
  return 0;
}

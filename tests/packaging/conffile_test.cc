// debian/strongroom.toml, the package's /etc/strongroom/strongroom.toml: it
// loads as shipped with the production paths, every key the server knows is
// in it, and each key shown commented out ("#key = value") is a real key at
// its real default.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "appliance/server_config.h"
#include "tests/support/temp_dir.h"

namespace strongroom::appliance {
namespace {

using strongroom::testing_support::ReadFileBytes;
using strongroom::testing_support::TempDir;
using strongroom::testing_support::WriteFileBytes;

constexpr const char* kConffile = SR_SOURCE_DIR "/debian/strongroom.toml";

// Uncommented returns the conffile with every "#key = value" line made live.
std::string Uncommented() {
  std::istringstream in(ReadFileBytes(kConffile));
  const std::regex commented_key("^#([a-z_]+ = .*)$");
  std::string out, line;
  while (std::getline(in, line)) {
    std::smatch match;
    out += std::regex_match(line, match, commented_key) ? match[1].str() : line;
    out += "\n";
  }
  return out;
}

void CollectKeys(const toml::table& table, const std::string& prefix, std::set<std::string>& out) {
  for (const auto& [key, node] : table) {
    const std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const toml::table* child = node.as_table()) {
      CollectKeys(*child, name, out);
    } else {
      out.insert(name);
    }
  }
}

TEST(Conffile, LoadsAsShippedWithProductionSettings) {
  StatusOr<ServerConfig> config = LoadServerConfig(kConffile);
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config->listen, "0.0.0.0:8443");
  EXPECT_EQ(config->common.data_dir, "/var/lib/strongroom");
  EXPECT_EQ(config->policy_dir, "/etc/strongroom/policies");
  EXPECT_EQ(config->common.pin_file, "/var/lib/strongroom-token/pin");
  // The packaged units run the token behind tokend (debian/strongroom-tokend.service).
  EXPECT_EQ(config->common.token_service, "unix:/run/strongroom-tokend/tokend.sock");
  EXPECT_EQ(config->tls.client_ca_path, "/etc/strongroom/tls/client-ca.pem");
  EXPECT_EQ(config->common.arena_mib, 4u) << "must fit LimitMEMLOCK=8M in strongroom.service";
  EXPECT_FALSE(config->common.allow_unlocked_memory);
}

TEST(Conffile, EveryCommentedKeyIsARealKeyAtItsDefault) {
  TempDir dir;
  const std::string path = dir.Join("uncommented.toml");
  ASSERT_TRUE(WriteFileBytes(path, Uncommented()));
  StatusOr<ServerConfig> shipped = LoadServerConfig(kConffile);
  StatusOr<ServerConfig> uncommented = LoadServerConfig(path);
  ASSERT_TRUE(shipped.has_value()) << shipped.error();
  ASSERT_TRUE(uncommented.has_value()) << uncommented.error();
  EXPECT_EQ(EffectiveSettingsJson(*uncommented), EffectiveSettingsJson(*shipped));
  EXPECT_EQ(uncommented->metrics.scrape_services, shipped->metrics.scrape_services);
  EXPECT_EQ(uncommented->metrics.allow_anonymous, shipped->metrics.allow_anonymous);
}

TEST(Conffile, NamesEveryKeyTheServerReads) {
  std::set<std::string> in_file;
  CollectKeys(toml::parse(Uncommented()), "", in_file);
  StatusOr<ServerConfig> config = LoadServerConfig(kConffile);
  ASSERT_TRUE(config.has_value()) << config.error();
  const nlohmann::json settings = nlohmann::json::parse(EffectiveSettingsJson(*config));
  std::set<std::string> known = {"metrics.scrape_services", "metrics.allow_anonymous"};
  for (const auto& [section, keys] : settings.items()) {
    for (const auto& [key, value] : keys.items()) {
      known.insert(section == "server" ? key : section + "." + key);
    }
  }
  for (const std::string& key : known) EXPECT_TRUE(in_file.contains(key)) << key;
  for (const std::string& key : in_file) EXPECT_TRUE(known.contains(key)) << key;
}

}  // namespace
}  // namespace strongroom::appliance

#include "appliance/server_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"
#include "tests/support/status_matchers.h"

namespace strongroom::appliance {
namespace {

using strongroom::testing_support::TempDir;
using strongroom::testing_support::WriteFileBytes;

std::string Write(const TempDir& dir, const std::string& text) {
  std::string path = dir.Join("config.toml");
  EXPECT_TRUE(WriteFileBytes(path, text));
  return path;
}

constexpr const char* kTls =
    "[tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nclient_ca = \"ca.pem\"\n";

TEST(ServerConfig, TheShippedExampleLoads) {
  StatusOr<ServerConfig> config = LoadServerConfig(SR_SOURCE_DIR "/docs/strongroom.example.toml");
  ASSERT_OK(config);
  EXPECT_EQ(config->listen, "127.0.0.1:8443");
  EXPECT_EQ(config->limits.request.max_body_bytes, 163840u);
  EXPECT_EQ(config->authentication.max_concurrent_password_checks, 2u);
  EXPECT_TRUE(config->metrics.scrape_services.empty());
  EXPECT_FALSE(config->metrics.allow_anonymous);
}

TEST(ServerConfig, MetricsKeysSayWhoMayScrape) {
  TempDir dir;
  auto config = LoadServerConfig(Write(
      dir, std::string(kTls) +
               "[metrics]\nscrape_services = [\"prometheus\", \"vm\"]\nallow_anonymous = true\n"));
  ASSERT_OK(config);
  EXPECT_EQ(config->metrics.scrape_services, (std::vector<std::string>{"prometheus", "vm"}));
  EXPECT_TRUE(config->metrics.allow_anonymous);
}

TEST(ServerConfig, UiKeysSetTheWebViewsSessionTimeouts) {
  TempDir dir;
  StatusOr<ServerConfig> defaults = LoadServerConfig(Write(dir, kTls));
  ASSERT_TRUE(defaults.has_value()) << defaults.error();
  EXPECT_EQ(defaults->browser_sessions.idle_timeout, std::chrono::minutes(15));
  EXPECT_EQ(defaults->browser_sessions.absolute_timeout, std::chrono::minutes(480));
  auto config = LoadServerConfig(Write(
      dir, std::string(kTls) + "[ui]\nsession_idle_minutes = 5\nsession_absolute_minutes = 60\n"));
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config->browser_sessions.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(config->browser_sessions.absolute_timeout, std::chrono::minutes(60));
  nlohmann::json settings = nlohmann::json::parse(EffectiveSettingsJson(*config));
  EXPECT_EQ(settings["ui"]["session_idle_minutes"], "5");
  auto zero = LoadServerConfig(Write(dir, std::string(kTls) + "[ui]\nsession_idle_minutes = 0\n"));
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message().find("ui.session_idle_minutes"), std::string::npos);
}

TEST(ServerConfig, ValuesOverrideDefaults) {
  TempDir dir;
  auto config =
      LoadServerConfig(Write(dir, std::string("listen = \"[::1]:0\"\n") + kTls +
                                      "[limits]\nidle_timeout_ms = 500\nio_threads = 3\n"));
  ASSERT_OK(config);
  EXPECT_EQ(config->limits.idle_timeout.count(), 500);
  EXPECT_EQ(config->limits.io_threads, 3u);
  std::string host;
  std::uint16_t port = 1;
  ASSERT_TRUE(SplitListen(config->listen, &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
}

TEST(ServerConfig, ABadFileGivesOneLineNamingTheKey) {
  TempDir dir;
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {std::string(kTls) + "[limits]\nidle_timeout = 5\n", "limits.idle_timeout: unknown key"},
      {std::string(kTls) + "[limits]\nio_threads = \"two\"\n",
       "limits.io_threads: must be an integer"},
      {std::string(kTls) + "[limits]\nio_threads = 0\n",
       "limits.io_threads: must be between 1 and 64"},
      {std::string("listen = 8443\n") + kTls, "listen: must be a string"},
      {std::string("listen = \"localhost\"\n") + kTls, "listen: must be host:port"},
      {"[tls]\ncertificate = \"s.pem\"\n", "tls.private_key: is required"},
      {"listen = \n", ":1:"},
      {std::string(kTls) + "[metrics]\nscrape_services = \"prometheus\"\n",
       "metrics.scrape_services: must be an array of strings"},
      {std::string(kTls) + "[metrics]\nscrape_services = [\"\"]\n",
       "metrics.scrape_services: must be an array of non-empty strings"},
  };
  for (const Case& c : cases) {
    auto config = LoadServerConfig(Write(dir, c.text));
    ASSERT_FALSE(config.has_value()) << c.text;
    EXPECT_NE(config.error().message().find(c.expected), std::string::npos)
        << config.error().message();
    EXPECT_EQ(config.error().message().find('\n'), std::string::npos);
  }
}

TEST(ServerConfig, EffectiveSettingsNameEveryKeyButNeverThePinOrItsSource) {
  StatusOr<ServerConfig> config = LoadServerConfig(SR_SOURCE_DIR "/docs/strongroom.example.toml");
  ASSERT_OK(config);
  config->common.pin_file = "/secret/place/pin";
  config->common.token_uri =
      "pkcs11:token=strongroom;pin-source=file:/secret/other-pin?pin-value=123456&module-name=x";
  const std::string text = EffectiveSettingsJson(*config);
  nlohmann::json settings = nlohmann::json::parse(text, nullptr, false);
  ASSERT_TRUE(settings.is_object()) << text;
  EXPECT_EQ(settings["token"]["pin_file"], "************");
  EXPECT_EQ(settings["token"]["uri"],
            "pkcs11:token=strongroom;pin-source=************?pin-value=************&module-name=x");
  EXPECT_EQ(text.find("/secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("123456"), std::string::npos) << text;
  EXPECT_EQ(settings["tls"]["private_key"], "/etc/strongroom/tls/server.key") << "a path only";
  EXPECT_EQ(settings["limits"]["max_body_bytes"], "163840");
  EXPECT_EQ(settings["memory"]["allow_unlocked"], "false");
  // Every key of the shipped example has a place in the settings.
  for (const char* section : {"server", "token", "tls", "memory", "limits", "audit"}) {
    EXPECT_TRUE(settings.contains(section)) << section;
  }
  EXPECT_EQ(settings["limits"].size(), 17u) << "two per-address caps (issue 16)";
}

// Loads kTls plus `cluster` and returns the error message ("" when it loads).
std::string ClusterError(const TempDir& dir, const std::string& cluster) {
  auto config = LoadServerConfig(Write(dir, std::string(kTls) + cluster));
  return config.has_value() ? "" : config.error().message();
}

TEST(ServerConfig, WithoutAClusterSectionNothingChanges) {
  TempDir dir;
  auto config = LoadServerConfig(Write(dir, kTls));
  ASSERT_OK(config);
  EXPECT_FALSE(config->cluster.present);
  EXPECT_FALSE(config->cluster.replicated());
  nlohmann::json settings = nlohmann::json::parse(EffectiveSettingsJson(*config));
  EXPECT_FALSE(settings.contains("cluster"));
}

TEST(ServerConfig, AClusterSectionReadsEveryKeyWithItsDefaults) {
  TempDir dir;
  auto named =
      LoadServerConfig(Write(dir, std::string(kTls) + "[cluster]\nnode_name = \"node-1\"\n"));
  ASSERT_OK(named);
  EXPECT_TRUE(named->cluster.present);
  EXPECT_EQ(named->cluster.node_name, "node-1");
  EXPECT_EQ(named->cluster.cluster_name, "default");
  EXPECT_EQ(named->cluster.max_staleness_seconds, 30u);
  EXPECT_EQ(named->cluster.call_timeout, std::chrono::milliseconds(2000));
  EXPECT_FALSE(named->cluster.replicated());
  auto full = LoadServerConfig(Write(
      dir,
      std::string(kTls) +
          "[cluster]\nendpoints = [\"https://10.0.0.1:2379\", \"https://10.0.0.2:2379\"]\n"
          "ca_file = \"/etc/strongroom/etcd/ca.pem\"\ncert_file = \"/etc/strongroom/etcd/c.pem\"\n"
          "key_file = \"/etc/strongroom/etcd/c.key\"\nnode_name = \"a-2\"\n"
          "cluster_name = \"prod\"\nmax_staleness_seconds = 5\ncall_timeout_ms = 750\n"));
  ASSERT_OK(full);
  EXPECT_EQ(full->cluster.endpoints.size(), 2u);
  EXPECT_EQ(full->cluster.key_file, "/etc/strongroom/etcd/c.key");
  EXPECT_EQ(full->cluster.cluster_name, "prod");
  EXPECT_EQ(full->cluster.max_staleness_seconds, 5u);
  EXPECT_EQ(full->cluster.call_timeout, std::chrono::milliseconds(750));
  EXPECT_TRUE(full->cluster.replicated());
  nlohmann::json settings = nlohmann::json::parse(EffectiveSettingsJson(*full));
  EXPECT_EQ(settings["cluster"]["node_name"], "a-2");
  EXPECT_EQ(settings["cluster"]["endpoints"], "https://10.0.0.1:2379,https://10.0.0.2:2379");
  EXPECT_EQ(settings["cluster"]["max_staleness_seconds"], "5");
}

TEST(ServerConfig, BadClusterValuesGetOneLineNamingTheKey) {
  TempDir dir;
  const std::string etcd = "ca_file = \"ca.pem\"\ncert_file = \"c.pem\"\nkey_file = \"c.key\"\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[cluster]\n", "cluster.node_name: is required"},
      {"[cluster]\ncluster_name = \"x\"\n", "cluster.node_name: is required"},
      {"[cluster]\nnode_name = \"Node1\"\n", "cluster.node_name: must be"},
      {"[cluster]\nnode_name = \"-a\"\n", "cluster.node_name: must be"},
      {"[cluster]\nnode_name = \"a.b\"\n", "cluster.node_name: must be"},
      {"[cluster]\nnode_name = \"" + std::string(64, 'a') + "\"\n", "cluster.node_name: must be"},
      {"[cluster]\nnode_name = \"a\"\ncluster_name = \"\"\n", "cluster.cluster_name: must be"},
      {"[cluster]\nnode_name = \"a\"\nmax_staleness_seconds = 0\n",
       "cluster.max_staleness_seconds: must be between 1 and 3600"},
      {"[cluster]\nnode_name = \"a\"\nmax_staleness_seconds = 3601\n",
       "cluster.max_staleness_seconds: must be between 1 and 3600"},
      {"[cluster]\nnode_name = \"a\"\ncall_timeout_ms = 5\n", "cluster.call_timeout_ms: must be"},
      {"[cluster]\nnode_name = \"a\"\nendpoints = \"https://x:2379\"\n",
       "cluster.endpoints: must be an array"},
      {"[cluster]\nnode_name = \"a\"\nendpoints = [\"http://x:2379\"]\n" + etcd,
       "cluster.endpoints: must be https URLs"},
      {"[cluster]\nnode_name = \"a\"\n" + etcd, "cluster.endpoints: is required"},
      {"[cluster]\nnode_name = \"a\"\nendpoints = [\"https://x:2379\"]\n",
       "cluster.ca_file: is required"},
      {"[cluster]\nnode_name = \"a\"\nendpoints = [\"https://x:2379\"]\nca_file = \"c\"\n",
       "cluster.cert_file: is required"},
      {"[cluster]\nnode_name = \"a\"\nsurprise = 1\n", "cluster.surprise: unknown key"},
  };
  for (const auto& [text, says] : cases) {
    const std::string error = ClusterError(dir, text);
    EXPECT_NE(error.find(says), std::string::npos) << text << " -> " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace strongroom::appliance

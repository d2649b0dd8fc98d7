#include "appliance/server_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

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
  ASSERT_TRUE(config.has_value()) << config.error();
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
  ASSERT_TRUE(config.has_value()) << config.error();
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
  ASSERT_TRUE(config.has_value()) << config.error();
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
  ASSERT_TRUE(config.has_value()) << config.error();
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

}  // namespace
}  // namespace strongroom::appliance

// The web view's static files over the real server (issue 21): /ui/ and
// every compiled-in asset are served with the view's security headers
// (a Content-Security-Policy without inline script or style, no framing,
// nosniff, no referrer, no caching), /ui redirects to /ui/, an unknown
// name is a 404 that reaches no file, the binary holds exactly the files
// of ui/, and those files keep to the rules that make the policy hold
// (no inline script or style, no HTML built from strings, nothing loaded
// from elsewhere).
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/ui/ui_assets.h"
#include "api/ui/ui_routes.h"
#include "tests/api/in_process_server.h"

namespace strongroom {
namespace {

using testing_support::HttpsResponse;

std::string SourceFile(const std::string& name) {
  std::ifstream in(std::string(SR_SOURCE_DIR) + "/ui/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class UiStaticTest : public InProcessServerTest {
 protected:
  HttpsResponse Get(const std::string& path) {
    testing_support::HttpsClient anonymous(
        "https://127.0.0.1:" + std::to_string(server_->port()), pki_.ca_cert_path());
    return anonymous.Request("GET", path);
  }

  // ExpectViewHeaders checks the headers every /ui answer carries.
  static void ExpectViewHeaders(HttpsResponse& response, const std::string& path) {
    EXPECT_EQ(response.headers["content-security-policy"], api::kUiContentSecurityPolicy) << path;
    EXPECT_EQ(response.headers["x-content-type-options"], "nosniff") << path;
    EXPECT_EQ(response.headers["referrer-policy"], "no-referrer") << path;
    EXPECT_EQ(response.headers["cache-control"], "no-store") << path;
  }
};

TEST_F(UiStaticTest, TheIndexIsServedWithAStrictPolicyAndNoCredentials) {
  HttpsResponse index = Get("/ui/");
  ASSERT_EQ(index.status, 200) << index.error << index.body;
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  ExpectViewHeaders(index, "/ui/");
  EXPECT_EQ(index.body, SourceFile("index.html"));
  const std::string policy = api::kUiContentSecurityPolicy;
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(policy.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(policy.find("style-src 'self';"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe"), std::string::npos);
  EXPECT_NE(index.body.find(R"(<script type="module" src="assets/app.js"></script>)"),
            std::string::npos);
}

TEST_F(UiStaticTest, UiRedirectsToTheFolder) {
  HttpsResponse redirect = Get("/ui");
  EXPECT_EQ(redirect.status, 301) << redirect.error;
  EXPECT_EQ(redirect.headers["location"], "/ui/");
  ExpectViewHeaders(redirect, "/ui");
}

TEST_F(UiStaticTest, EveryAssetIsServedByteForByteWithItsType) {
  ASSERT_GE(api::UiAssets().size(), 5u);
  for (const api::UiAsset& asset : api::UiAssets()) {
    if (asset.name == "index.html") continue;
    const std::string path = "/ui/assets/" + std::string(asset.name);
    HttpsResponse response = Get(path);
    ASSERT_EQ(response.status, 200) << path << ": " << response.error;
    EXPECT_EQ(response.headers["content-type"], asset.content_type) << path;
    EXPECT_EQ(response.body, asset.bytes) << path;
    EXPECT_EQ(response.body, SourceFile(std::string(asset.name))) << path;
    ExpectViewHeaders(response, path);
  }
  EXPECT_EQ(Get("/ui/assets/app.js").headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/ui/assets/style.css").headers["content-type"], "text/css; charset=utf-8");
}

TEST_F(UiStaticTest, UnknownNamesAreNotFoundAndReachNoFile) {
  for (const std::string path :
       {"/ui/assets/nope.js", "/ui/assets/index.html", "/ui/assets/..%2fCMakeLists.txt",
        "/ui/assets/%2e%2e", "/ui/assets/APP.JS", "/ui/assets/app.js%00", "/ui/index.html",
        "/ui/assets/../../etc/passwd", "/ui/assets/"}) {
    HttpsResponse response = Get(path);
    EXPECT_EQ(response.status, 404) << path << ": " << response.error;
    EXPECT_EQ(response.body.find("import "), std::string::npos) << path;
  }
  HttpsResponse unknown = Get("/ui/assets/nope.js");
  ExpectViewHeaders(unknown, "/ui/assets/nope.js");
  EXPECT_EQ(unknown.headers["content-type"], "application/json");
}

TEST_F(UiStaticTest, TheBinaryHoldsExactlyTheFilesOfTheUiFolder) {
  std::set<std::string> on_disk, compiled;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SR_SOURCE_DIR) + "/ui"))
    on_disk.insert(entry.path().filename().string());
  for (const api::UiAsset& asset : api::UiAssets()) compiled.insert(std::string(asset.name));
  EXPECT_EQ(on_disk, compiled) << "list every file of ui/ in api/ui/CMakeLists.txt";
}

// The policy forbids inline script and style; these rules keep the files
// within it and keep server data out of the HTML parser.
TEST_F(UiStaticTest, TheFilesUseNoInlineCodeNoHtmlFromStringsAndNothingFromElsewhere) {
  for (const api::UiAsset& asset : api::UiAssets()) {
    const std::string text(asset.bytes);
    const std::string name(asset.name);
    for (const std::string forbidden :
         {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
          "new Function", "setAttribute('style'", "style=", "<style", "javascript:", "@import",
          "localStorage", "sessionStorage"}) {
      EXPECT_EQ(text.find(forbidden), std::string::npos) << name << " holds " << forbidden;
    }
    // The one absolute URL: the SVG namespace, a name, never fetched.
    std::string without_svg_namespace = text;
    const std::string svg_namespace = "http://www.w3.org/2000/svg";
    for (std::size_t at; (at = without_svg_namespace.find(svg_namespace)) != std::string::npos;)
      without_svg_namespace.erase(at, svg_namespace.size());
    EXPECT_EQ(without_svg_namespace.find("http://"), std::string::npos) << name;
    EXPECT_EQ(without_svg_namespace.find("https://"), std::string::npos) << name;
    EXPECT_EQ(without_svg_namespace.find("//cdn"), std::string::npos) << name;
  }
  const std::string index = SourceFile("index.html");
  std::size_t scripts = 0;
  for (std::size_t at = 0; (at = index.find("<script", at)) != std::string::npos; ++at) {
    ++scripts;
    EXPECT_EQ(index.compare(at, 13, "<script type="), 0) << "a script without src";
  }
  EXPECT_EQ(scripts, 1u);
}

}  // namespace
}  // namespace strongroom

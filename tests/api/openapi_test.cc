// docs/openapi.yaml against the real router (issue 7): every route the
// server serves is in the document and every documented operation is
// served, and the document is served byte for byte at GET /openapi.yaml.
// (Its validity as OpenAPI 3.0 is checked by tests/api/openapi_lint.sh.)
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/api/in_process_server.h"

namespace strongroom {
namespace {

std::string Document() {
  std::ifstream in(std::string(SR_SOURCE_DIR) + "/docs/openapi.yaml", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// DocumentedOperations reads "METHOD /path/{param}" for every operation
// under `paths:` (two-space path keys, four-space method keys, as the
// document is written).
std::set<std::string> DocumentedOperations(const std::string& document) {
  std::set<std::string> operations;
  std::istringstream lines(document);
  std::string line, path;
  bool in_paths = false;
  const std::regex path_key(R"(^  (/[^:\s]*):\s*$)");
  const std::regex method_key(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  std::smatch match;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line.starts_with("paths:");
    if (!in_paths) continue;
    if (std::regex_match(line, match, path_key)) {
      path = match[1];
    } else if (!path.empty() && std::regex_match(line, match, method_key)) {
      std::string method = match[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      operations.insert(method + " " + path);
    }
  }
  return operations;
}

// OpenApiPath turns "/a/:ns/b" into "/a/{ns}/b".
std::string OpenApiPath(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(":([A-Za-z_]+)"), "{$1}");
}

class OpenApiTest : public InProcessServerTest {};

TEST_F(OpenApiTest, EveryServedRouteIsDocumentedAndEveryDocumentedOperationIsServed) {
  std::set<std::string> served;
  for (const api::Router::RouteInfo& route : server_->routes()) {
    served.insert(Pistache::Http::methodString(route.method) + std::string(" ") +
                  OpenApiPath(route.pattern));
  }
  std::set<std::string> documented = DocumentedOperations(Document());
  ASSERT_GT(served.size(), 30u);
  for (const std::string& operation : served) {
    EXPECT_TRUE(documented.contains(operation)) << "served but not documented: " << operation;
  }
  for (const std::string& operation : documented) {
    EXPECT_TRUE(served.contains(operation)) << "documented but not served: " << operation;
  }
}

TEST_F(OpenApiTest, TheDocumentIsServedAsWrittenWithoutCredentials) {
  testing_support::HttpsClient anonymous("https://127.0.0.1:" + std::to_string(server_->port()),
                                         pki_.ca_cert_path());
  testing_support::HttpsResponse response = anonymous.Request("GET", "/openapi.yaml");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.headers["content-type"], "application/yaml");
  EXPECT_EQ(response.body, Document());
  EXPECT_TRUE(response.body.starts_with("openapi: 3.0."));
}

// GET /pki/ca.crl (issue 20) is public like this document; a server with
// no CRL configured says so with a 404, not an empty 200.
TEST_F(OpenApiTest, TheCrlDistributionPointAnswers404WithoutAConfiguredCrl) {
  testing_support::HttpsClient anonymous("https://127.0.0.1:" + std::to_string(server_->port()),
                                         pki_.ca_cert_path());
  testing_support::HttpsResponse response = anonymous.Request("GET", "/pki/ca.crl");
  EXPECT_EQ(response.status, 404) << response.error;
  EXPECT_NE(response.body.find("no CRL is configured"), std::string::npos) << response.body;
}

}  // namespace
}  // namespace strongroom

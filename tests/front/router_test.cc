#include "api/http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace strongroom::api {
namespace {

using Pistache::Http::Method;

Router MakeRouter() {
  Router router;
  auto ok = [](HttpRequest&) { return HttpResponse{}; };
  router.Add(Method::Get, "/apis/g/v1/namespaces/:ns/things", Execution::kInline, ok);
  router.Add(Method::Get, "/apis/g/v1/namespaces/:ns/things/:name", Execution::kBlocking, ok);
  router.Add(Method::Delete, "/apis/g/v1/namespaces/:ns/things/:name", Execution::kBlocking, ok);
  router.Add(Method::Get, "/livez", Execution::kInline, ok);
  return router;
}

TEST(Router, MatchesParametersByName) {
  Router router = MakeRouter();
  Router::Match m = router.Find(Method::Get, "/apis/g/v1/namespaces/team-a/things/db");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->execution, Execution::kBlocking);
  ASSERT_EQ(m.params.size(), 2u);
  std::map<std::string, std::string> params(m.params.begin(), m.params.end());
  EXPECT_EQ(params["ns"], "team-a");
  EXPECT_EQ(params["name"], "db");
}

TEST(Router, ReportsKnownPathsWithAnotherMethod) {
  Router router = MakeRouter();
  Router::Match m = router.Find(Method::Post, "/apis/g/v1/namespaces/a/things/b");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allowed.size(), 2u);
  Router::Match none = router.Find(Method::Get, "/nowhere");
  EXPECT_EQ(none.route, nullptr);
  EXPECT_FALSE(none.path_known);
}

TEST(Router, RefusesEmptyDotAndDotDotSegments) {
  Router router = MakeRouter();
  for (const char* path :
       {"/apis/g/v1/namespaces/a/things/..", "/apis/g/v1/namespaces/./things", "//livez", "/livez/",
        "/", "", "livez", "/apis/g/v1/namespaces/a/../a/things"}) {
    EXPECT_EQ(router.Find(Method::Get, path).route, nullptr) << path;
  }
  EXPECT_NE(router.Find(Method::Get, "/livez").route, nullptr);
}

TEST(Router, MatchesAFolderPatternOnlyByItsExactPath) {
  Router router = MakeRouter();
  auto ok = [](HttpRequest&) { return HttpResponse{}; };
  router.Add(Method::Get, "/ui/", Execution::kInline, ok);
  router.Add(Method::Get, "/ui", Execution::kInline, ok);
  Router::Match folder = router.Find(Method::Get, "/ui/");
  ASSERT_NE(folder.route, nullptr);
  EXPECT_EQ(folder.route->pattern, "/ui/");
  ASSERT_NE(router.Find(Method::Get, "/ui").route, nullptr);
  EXPECT_EQ(router.Find(Method::Get, "/ui").route->pattern, "/ui");
  Router::Match post = router.Find(Method::Post, "/ui/");
  EXPECT_EQ(post.route, nullptr);
  EXPECT_TRUE(post.path_known);
  for (const char* path : {"/ui//", "//ui/", "/ui/./", "/x/../ui/", "/livez/"}) {
    EXPECT_EQ(router.Find(Method::Get, path).route, nullptr) << path;
  }
  EXPECT_THROW(router.Add(Method::Get, "/a/:p/", Execution::kInline, ok), std::invalid_argument);
  EXPECT_THROW(router.Add(Method::Get, "/a//", Execution::kInline, ok), std::invalid_argument);
}

}  // namespace
}  // namespace strongroom::api

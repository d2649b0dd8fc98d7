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
  const std::string_view path = "/apis/g/v1/namespaces/team-a/things/db";
  EXPECT_EQ(m.params.Get("ns", path), "team-a");
  EXPECT_EQ(m.params.Get("name", path), "db");
  EXPECT_EQ(m.params.Get("other", path), "");
}

TEST(Router, PrefersAFixedSegmentToAParameter) {
  Router router;
  auto ok = [](HttpRequest&) { return HttpResponse{}; };
  router.Add(Method::Get, "/s/:store/:name", Execution::kInline, ok);
  router.Add(Method::Get, "/s/:store/bulk", Execution::kBlocking, ok);
  router.Add(Method::Get, "/s/fixed/:name", Execution::kDeferred, ok);
  Router::Match bulk = router.Find(Method::Get, "/s/a/bulk");
  ASSERT_NE(bulk.route, nullptr);
  EXPECT_EQ(bulk.route->pattern, "/s/:store/bulk");
  EXPECT_EQ(bulk.params.size(), 1u);
  EXPECT_EQ(bulk.params.Get("store", "/s/a/bulk"), "a");
  Router::Match named = router.Find(Method::Get, "/s/a/b");
  ASSERT_NE(named.route, nullptr);
  EXPECT_EQ(named.route->pattern, "/s/:store/:name");
  // The leftmost fixed segment decides: "fixed" beats ":store".
  Router::Match fixed = router.Find(Method::Get, "/s/fixed/bulk");
  ASSERT_NE(fixed.route, nullptr);
  EXPECT_EQ(fixed.route->pattern, "/s/fixed/:name");
  EXPECT_EQ(router.Find(Method::Get, "/s/a").route, nullptr);
  EXPECT_EQ(router.Find(Method::Get, "/s/a/b/c").route, nullptr);
}

TEST(Router, RefusesPatternsWithTooManyOrTooLongParameters) {
  Router router;
  auto ok = [](HttpRequest&) { return HttpResponse{}; };
  EXPECT_THROW(router.Add(Method::Get, "/a/:b/:c/:d/:e/:f/:g/:h", Execution::kInline, ok),
               std::invalid_argument);
  EXPECT_THROW(router.Add(Method::Get, "/a/:" + std::string(RouteParams::kMaxName + 1, 'x'),
                          Execution::kInline, ok),
               std::invalid_argument);
  EXPECT_THROW(router.Add(Method::Get, "/a/:", Execution::kInline, ok), std::invalid_argument);
  EXPECT_NO_THROW(router.Add(Method::Get, "/a/:b/:c/:d/:e/:f/:g", Execution::kInline, ok));
}

TEST(Router, RequestParamsSurviveAMoveOfTheRequest) {
  Router router = MakeRouter();
  HttpRequest request;
  request.path = "/apis/g/v1/namespaces/a/things/b";
  request.params = router.Find(Method::Get, request.path).params;
  HttpRequest moved = std::move(request);
  EXPECT_EQ(moved.Param("ns"), "a");
  EXPECT_EQ(moved.Param("name"), "b");
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

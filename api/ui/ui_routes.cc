// GET /ui, /ui/ and /ui/assets/:file: the web view's static files
// (ui_routes.h). No authentication and no audit record: the files hold no
// data (every datum the pages show comes from an audited read API).
#include "api/ui/ui_routes.h"

#include <string>

#include "api/core/errors.h"
#include "api/ui/ui_assets.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;

constexpr std::string_view kIndex = "index.html";

// WithViewHeaders adds the view's security headers (ui_routes.h) to an
// answer. Cache-Control: no-store and nosniff are on every response of the
// server already (SerializeResponse).
HttpResponse WithViewHeaders(HttpResponse response) {
  response.headers.emplace_back("Content-Security-Policy", kUiContentSecurityPolicy);
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  return response;
}

HttpResponse Serve(const UiAsset& asset) {
  HttpResponse response = JsonResponse(Success::kOk, std::string(asset.bytes));
  response.content_type = asset.content_type;
  return WithViewHeaders(std::move(response));
}

}  // namespace

void AddUiRoutes(Router& router) {
  router.Add(Method::Get, "/ui", Execution::kInline, [](HttpRequest&) {
    HttpResponse response = EmptyResponse(Success::kMovedPermanently);
    response.headers.emplace_back("Location", "/ui/");
    return WithViewHeaders(std::move(response));
  });
  router.Add(Method::Get, "/ui/", Execution::kInline, [](HttpRequest&) {
    const UiAsset* index = FindUiAsset(kIndex);
    if (index == nullptr) return WithViewHeaders(EmptyResponse(Success::kNoContent));
    return Serve(*index);
  });
  router.Add(Method::Get, "/ui/assets/:file", Execution::kInline, [](HttpRequest& request) {
    const std::string_view name = request.Param("file");
    const UiAsset* asset = name == kIndex ? nullptr : FindUiAsset(name);
    if (asset == nullptr) {
      return WithViewHeaders(ErrorToResponse(request.path, request.request_id,
                                             ApiError::NotFound("no such file of the web view")));
    }
    return Serve(*asset);
  });
}

}  // namespace strongroom::api

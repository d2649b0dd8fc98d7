#include "api/http/router.h"

#include <cstring>
#include <deque>
#include <stdexcept>

namespace strongroom::api {
namespace {

using Pistache::Rest::SegmentTreeNode;
namespace Rest = Pistache::Rest;

// RouteTag is the callable stored in Pistache's Route: it is never invoked
// (Strongroom writes its own responses); Find reads the route index back
// through std::function::target.
struct RouteTag {
  std::size_t index;
  Rest::Route::Result operator()(const Rest::Request, Pistache::Http::ResponseWriter) const {
    return Rest::Route::Result::Failure;
  }
};

// Trimmed returns `path` without its leading '/', or nullopt when the path
// has an empty, "." or ".." segment (Pistache would collapse or keep those;
// Strongroom refuses them so a path has exactly one spelling).
std::optional<std::string_view> Trimmed(std::string_view path) {
  if (path.size() < 2 || path.front() != '/') return std::nullopt;
  path.remove_prefix(1);
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
    start = end + 1;
  }
  return path;
}

}  // namespace

struct Router::Impl {
  std::map<Pistache::Http::Method, SegmentTreeNode> trees;
  // Patterns ending in '/' (a folder's index, "/ui/"), matched exactly:
  // the segment tree has no spelling for an empty last segment.
  std::map<std::string, std::map<Pistache::Http::Method, std::size_t>, std::less<>> folders;
  std::deque<Route> routes;  // stable addresses
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(Pistache::Http::Method method, std::string_view pattern, Execution execution,
                 RouteHandler handler) {
  if (pattern.size() > 1 && pattern.back() == '/') {
    std::string_view folder = pattern.substr(0, pattern.size() - 1);
    if (!Trimmed(folder) || folder.find(':') != std::string_view::npos)
      throw std::invalid_argument("bad route pattern");
    impl_->routes.push_back(Route{execution, std::move(handler), nullptr, std::string(pattern),
                                  method, impl_->routes.size()});
    impl_->folders[std::string(pattern)][method] = impl_->routes.size() - 1;
    return;
  }
  std::optional<std::string_view> trimmed = Trimmed(pattern);
  if (!trimmed) throw std::invalid_argument("bad route pattern");
  // The tree keeps string_views into this buffer; it owns the buffer.
  std::shared_ptr<char> storage(new char[trimmed->size()], std::default_delete<char[]>());
  std::memcpy(storage.get(), trimmed->data(), trimmed->size());
  impl_->routes.push_back(Route{execution, std::move(handler), nullptr, std::string(pattern),
                                method, impl_->routes.size()});
  impl_->trees[method].addRoute(std::string_view(storage.get(), trimmed->size()),
                                RouteTag{impl_->routes.size() - 1}, storage);
}

void Router::AddDeferred(Pistache::Http::Method method, std::string_view pattern,
                         DeferredHandler handler) {
  Add(method, pattern, Execution::kDeferred, nullptr);
  impl_->routes.back().deferred = std::move(handler);
}

std::vector<Router::RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> listing;
  for (const Route& route : impl_->routes)
    listing.push_back(RouteInfo{route.method, route.pattern});
  return listing;
}

Router::Match Router::Find(Pistache::Http::Method method, std::string_view path) const {
  Match match;
  if (auto folder = impl_->folders.find(path); folder != impl_->folders.end()) {
    match.path_known = true;
    for (const auto& [folder_method, index] : folder->second) {
      match.allowed.push_back(folder_method);
      if (folder_method == method) match.route = &impl_->routes[index];
    }
    return match;
  }
  std::optional<std::string_view> trimmed = Trimmed(path);
  if (!trimmed) return match;
  // The request's own method first: a routed request searches one tree
  // (each search builds Pistache's parameter vectors on the heap).
  if (auto own = impl_->trees.find(method); own != impl_->trees.end()) {
    auto [route, params, splats] = own->second.findRoute(*trimmed);
    const RouteTag* tag = route ? route->handler_.target<RouteTag>() : nullptr;
    if (tag != nullptr) {
      match.path_known = true;
      match.route = &impl_->routes[tag->index];
      match.params.reserve(params.size());
      for (const auto& param : params) {
        // Pistache names parameters with their ':' prefix.
        std::string_view name = param.name();
        if (!name.empty() && name.front() == ':') name.remove_prefix(1);
        match.params.emplace_back(std::string(name), param.as<std::string>());
      }
      return match;
    }
  }
  // No route for this method: which methods have one (405 and Allow).
  for (const auto& [tree_method, tree] : impl_->trees) {
    auto [route, params, splats] = tree.findRoute(*trimmed);
    if (!route) continue;
    match.path_known = true;
    match.allowed.push_back(tree_method);
  }
  return match;
}

std::size_t Router::route_count() const { return impl_->routes.size(); }

const Route& Router::route_at(std::size_t index) const { return impl_->routes[index]; }

}  // namespace strongroom::api

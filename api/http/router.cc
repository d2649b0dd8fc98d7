#include "api/http/router.h"

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>

namespace strongroom::api {
namespace {

// Trimmed returns `path` without its leading '/', or nullopt when the path
// has an empty, "." or ".." segment (Strongroom refuses them so a path has
// exactly one spelling).
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

// Segment is one '/'-separated part of a pattern: fixed text, or a
// parameter (its name without the ':').
struct Segment {
  std::string text;
  bool param = false;
};

// kMaxSegments bounds the patterns' depth; a longer path matches nothing.
constexpr std::size_t kMaxSegments = 32;

// Split cuts a trimmed path into `out`; false when it has more segments
// than `out` holds.
bool Split(std::string_view trimmed, std::array<std::string_view, kMaxSegments>& out,
           std::size_t* count) {
  std::size_t n = 0, start = 0;
  for (;;) {
    if (n == kMaxSegments) return false;
    std::size_t end = trimmed.find('/', start);
    if (end == std::string_view::npos) end = trimmed.size();
    out[n++] = trimmed.substr(start, end - start);
    if (end == trimmed.size()) break;
    start = end + 1;
  }
  *count = n;
  return true;
}

}  // namespace

// Pattern is a route's pattern cut into segments, with its rank: bit
// (kMaxSegments - 1 - i) set when segment i is fixed, so of two patterns
// matching one path, the greater rank has a fixed segment first.
struct Router::Impl {
  struct Pattern {
    std::size_t index;
    std::vector<Segment> segments;
    std::uint32_t rank = 0;
  };
  std::map<Pistache::Http::Method, std::vector<Pattern>> patterns;
  // Patterns ending in '/' (a folder's index, "/ui/"), matched exactly: a
  // segment pattern has no spelling for an empty last segment.
  std::map<std::string, std::map<Pistache::Http::Method, std::size_t>, std::less<>> folders;
  std::deque<Route> routes;  // stable addresses

  // Best is the highest-ranked pattern of `list` matching `segments`.
  static const Pattern* Best(const std::vector<Pattern>& list,
                             std::span<const std::string_view> segments) {
    const Pattern* best = nullptr;
    for (const Pattern& pattern : list) {
      if (pattern.segments.size() != segments.size()) continue;
      if (best != nullptr && pattern.rank <= best->rank) continue;
      bool matches = true;
      for (std::size_t i = 0; i < segments.size() && matches; ++i) {
        matches = pattern.segments[i].param || pattern.segments[i].text == segments[i];
      }
      if (matches) best = &pattern;
    }
    return best;
  }
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
  std::array<std::string_view, kMaxSegments> parts;
  std::size_t count = 0;
  if (!trimmed || !Split(*trimmed, parts, &count)) throw std::invalid_argument("bad route pattern");
  Impl::Pattern compiled{impl_->routes.size(), {}, 0};
  std::size_t params = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view part = parts[i];
    const bool param = part.front() == ':';
    if (param) {
      part.remove_prefix(1);
      if (part.empty() || part.size() > RouteParams::kMaxName || ++params > RouteParams::kMaxParams)
        throw std::invalid_argument("bad route parameter");
    } else {
      compiled.rank |= 1u << (kMaxSegments - 1 - i);
    }
    compiled.segments.push_back(Segment{std::string(part), param});
  }
  impl_->routes.push_back(Route{execution, std::move(handler), nullptr, std::string(pattern),
                                method, impl_->routes.size()});
  impl_->patterns[method].push_back(std::move(compiled));
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
  std::array<std::string_view, kMaxSegments> parts;
  std::size_t count = 0;
  if (!trimmed || !Split(*trimmed, parts, &count)) return match;
  const std::span<const std::string_view> segments(parts.data(), count);
  // The request's own method first: a routed request searches one list.
  if (auto own = impl_->patterns.find(method); own != impl_->patterns.end()) {
    if (const Impl::Pattern* best = Impl::Best(own->second, segments)) {
      match.path_known = true;
      match.route = &impl_->routes[best->index];
      for (std::size_t i = 0; i < count; ++i) {
        if (!best->segments[i].param) continue;
        match.params.Add(best->segments[i].text,
                         static_cast<std::size_t>(segments[i].data() - path.data()),
                         segments[i].size());
      }
      return match;
    }
  }
  // No route for this method: which methods have one (405 and Allow).
  for (const auto& [other, list] : impl_->patterns) {
    if (Impl::Best(list, segments) == nullptr) continue;
    match.path_known = true;
    match.allowed.push_back(other);
  }
  return match;
}

std::size_t Router::route_count() const { return impl_->routes.size(); }

const Route& Router::route_at(std::size_t index) const { return impl_->routes[index]; }

}  // namespace strongroom::api

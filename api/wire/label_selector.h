// api/wire/label_selector.h — Kubernetes label selectors (kubectl -l, the
// ?labelSelector= query parameter of list endpoints, SPEC 6.1). Thread-safety:
// a parsed LabelSelector is an immutable value; const methods may be called
// from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace strongroom::api {

// LabelSelector is a parsed label selector: comma-separated requirements, each
// one of
//   key=value | key==value | key!=value | key in (v1,v2) | key notin (v1,v2) |
//   key | !key
// with spaces or tabs allowed around tokens. Keys and values follow
// ValidateLabelKey / ValidateLabelValue. Kubernetes semantics: `!=` and
// `notin` also match objects that lack the key; all requirements must match;
// an empty (or all-blank) selector matches everything.
class LabelSelector {
 public:
  enum class Operator { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  // Requirement is one comma-separated term. `values` has one element for
  // kEquals/kNotEquals, one or more for kIn/kNotIn, none for kExists and
  // kDoesNotExist.
  struct Requirement {
    std::string key;
    Operator op;
    std::vector<std::string> values;
  };

  // Parse returns the selector `text` describes, or kInvalidArgument whose
  // message names the problem and its character offset in `text`. `in` and
  // `notin` need a non-empty parenthesised list with no empty items. Texts over
  // 4096 characters are refused (a selector that long is not a real one).
  static StatusOr<LabelSelector> Parse(std::string_view text);

  // Matches returns whether an object with `labels` satisfies every
  // requirement. REQUIRES: `labels` are (key, value) pairs sorted by key, with
  // unique keys.
  bool Matches(std::span<const std::pair<std::string, std::string>> labels) const;

  // empty returns true when the selector has no requirements (matches all).
  bool empty() const { return requirements_.empty(); }
  // requirements returns the parsed terms in the order they were written.
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace strongroom::api

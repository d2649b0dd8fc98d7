// api/wire/sensu_selector.h — Sensu's API response filtering (SPEC 6.3):
// `labelSelector` and `fieldSelector` expressions such as
//   secret.provider == env && secret.name matches db
//   region in [us-west-1, 'us-east-1']
// Clauses `KEY OP VALUE` joined by `&&`; OP is `==`, `!=`, `in`, `notin`
// (VALUE a bracketed, comma-separated list) or `matches` (substring).
// A value is a bare word or quoted with ' or ". A key a record lacks
// matches only `!=` and `notin`.
// Thread-safety: a parsed selector is immutable.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace strongroom::api {

class SensuSelector {
 public:
  // Lookup returns a record's value for a key, or nullopt when it has none.
  using Lookup = std::function<std::optional<std::string_view>(std::string_view key)>;

  // Parse reads `text` (already percent-decoded; empty selects everything).
  // With `fields` not empty, every key must be one of them (fieldSelector).
  // kInvalidArgument naming the problem and its position.
  static StatusOr<SensuSelector> Parse(std::string_view text,
                                       std::span<const std::string_view> fields = {});

  // Matches tells whether every clause holds for the record `lookup` reads.
  bool Matches(const Lookup& lookup) const;

 private:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kMatches };
  struct Clause {
    std::string key;
    Op op = Op::kEquals;
    std::vector<std::string> values;  // one, except for in/notin
  };
  std::vector<Clause> clauses_;
};

}  // namespace strongroom::api

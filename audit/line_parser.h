// audit/line_parser.h — reading a record line back (private to audit/; the
// public entry is ParseLine in record.h).
//
// Two readers feed one set of checks. The writer (record.cc) produces a
// narrow subset of JSON: no whitespace, objects nested one level at most,
// strings of printable ASCII without escapes, unsigned integers. A line in
// that subset is read by a single pass over its bytes, with no document
// built; any other line (an escaped or non-ASCII string, whitespace, an
// array, a float, a deeper object, an error) goes to nlohmann/json's parser,
// exactly as before. Both readers expose the members the same way (the last
// of a repeated key wins, as in nlohmann's document), so ParseLine accepts
// and rejects exactly what ParseLineGeneral does; tests/audit's differential
// test holds them to it over valid and mutated lines.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "audit/record.h"

namespace strongroom::audit {

// kHashMarker precedes the hash that ends every line.
inline constexpr std::string_view kHashMarker = ",\"hash\":\"";

// ParseLineGeneral is ParseLine through nlohmann/json's document parser, for
// any JSON a line may hold.
StatusOr<ParsedLine> ParseLineGeneral(std::string_view line);

// ParseFormattedLine is ParseLine for a line inside the writer's subset;
// nullopt for a line outside it (then only ParseLineGeneral decides).
std::optional<StatusOr<ParsedLine>> ParseFormattedLine(std::string_view line);

}  // namespace strongroom::audit

// audit/event_summary.h — summaries of the log for the web view and any
// auditor's client (issue 21): events counted per UTC hour, action and
// outcome, and the latest events of a few actions (key rotations). Like
// query.h, reads the files directly (no index): the cost is one pass over
// the whole log.
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "base/status.h"

namespace strongroom::audit {

// HourlyCount is how many events of one action and outcome a UTC hour holds.
struct HourlyCount {
  std::string hour;     // the hour's start, "YYYY-MM-DDTHH:00:00Z"
  std::string action;   // as recorded
  std::string outcome;  // "allowed" | "denied" | "failed"
  std::uint64_t count = 0;
};

// CountEventsByHour counts the event and not-committed records of the log
// in `dir` whose time is in [since, until), by hour, action and outcome. A
// coalesced record (authentication failures) counts as the events it stands
// for. `since` and `until` are written as the log writes times,
// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (base/clock.h Rfc3339Micros), so they compare
// as text. Returns the non-zero rows ordered by hour, action, outcome.
// kNotFound when `dir` does not exist; kIntegrityError for a line that does
// not parse (run `strongroom audit verify`).
StatusOr<std::vector<HourlyCount>> CountEventsByHour(const std::string& dir, std::string_view since,
                                                     std::string_view until);

// LatestEvents returns, newest first, at most `limit` event records of the
// log in `dir` for which `wanted` is true. Errors as CountEventsByHour.
StatusOr<std::vector<ParsedLine>> LatestEvents(const std::string& dir,
                                               const std::function<bool(const ParsedLine&)>& wanted,
                                               std::size_t limit);

}  // namespace strongroom::audit

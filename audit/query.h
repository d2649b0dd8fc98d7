// audit/query.h — filtering records for GET /api/audit/events and
// `strongroom audit show`. Reads the files directly (no index): cost is
// proportional to the files at or after the cursor.
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace strongroom::audit {

struct EventFilter {
  std::optional<std::string> since, until;  // RFC 3339 (UTC, "Z"), inclusive
  std::optional<std::string> actor;         // actor.name
  std::optional<std::string> action;        // exact
  std::optional<std::string> namespace_name;
  std::optional<std::string> outcome;  // allowed | denied | failed
  std::uint64_t after_seq = 0;         // records with seq > after_seq
  std::size_t limit = 100;             // 1..1000
  // newest_first pages from the end of the log backwards (the web view's
  // default order); then before_seq, when set, keeps records with
  // seq < before_seq and after_seq is unused.
  bool newest_first = false;
  std::optional<std::uint64_t> before_seq;
};

// EventPage is one page: the raw JSON lines (without "\n") in seq order
// (descending when newest_first), and the cursor for the next page when
// more may follow (an after_seq, or a before_seq when newest_first).
struct EventPage {
  std::vector<std::string> records;
  std::optional<std::uint64_t> next_after_seq;
};

// ParseEventFilter reads the query parameters "since", "until", "actor",
// "action", "namespace", "outcome", "limit", "order" ("oldest", the
// default, or "newest") and "continue" (an after_seq; a before_seq with
// order=newest) through `param`. kInvalidArgument with a clear message for
// a bad value.
StatusOr<EventFilter> ParseEventFilter(
    const std::function<std::optional<std::string>(std::string_view)>& param);

// QueryEvents returns the records of the log in `dir` that match. A filter
// on actor, action, namespace or outcome matches events and
// not-committed records only (checkpoints have none of them). Newest first
// reads every file before the cursor (the log has no index).
StatusOr<EventPage> QueryEvents(const std::string& dir, const EventFilter& filter);

}  // namespace strongroom::audit

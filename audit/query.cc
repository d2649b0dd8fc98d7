#include "audit/query.h"

#include <charconv>
#include <deque>

#include "audit/log_files.h"
#include "audit/record.h"

namespace strongroom::audit {
namespace {

constexpr std::size_t kMaxLimit = 1000;

// IsRfc3339Utc accepts "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; such strings
// compare as text in time order when the fraction is written the same way,
// so the bound is normalised to microseconds.
StatusOr<std::string> NormaliseTime(std::string_view text, std::string_view name) {
  auto bad = [&] {
    return Status::InvalidArgument(std::string(name) +
                                   " must be an RFC 3339 UTC time like 2026-01-02T03:04:05Z");
  };
  if (text.size() < 20 || text.back() != 'Z' || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::unexpected(bad());
  }
  std::string out(text.substr(0, 19));
  std::string fraction = "000000";
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 7) return std::unexpected(bad());
    for (std::size_t i = 1; i < rest.size(); ++i) fraction[i - 1] = rest[i];
  }
  for (char c : out + fraction) {
    if (c != '-' && c != 'T' && c != ':' && (c < '0' || c > '9')) return std::unexpected(bad());
  }
  return out + "." + fraction + "Z";
}

StatusOr<std::uint64_t> Number(std::string_view text, std::string_view name) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::unexpected(Status::InvalidArgument(std::string(name) + " must be a number"));
  }
  return value;
}

bool Matches(const ParsedLine& r, const EventFilter& f) {
  if (f.since && r.time < *f.since) return false;
  if (f.until && r.time > *f.until) return false;
  bool wants_event_fields = f.actor || f.action || f.namespace_name || f.outcome;
  if (wants_event_fields && r.type == RecordType::kCheckpoint) return false;
  if (f.actor && r.actor_name != *f.actor) return false;
  if (f.action && r.action != *f.action) return false;
  if (f.namespace_name && r.namespace_name != *f.namespace_name) return false;
  if (f.outcome && r.outcome != *f.outcome) return false;
  return true;
}

// FirstSeqOf returns the first seq a rotated file's name announces.
std::optional<std::uint64_t> FirstSeqOf(const std::string& name) {
  if (!name.starts_with("audit-")) return std::nullopt;
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(name.data() + 6, name.data() + 26, seq);
  if (ec != std::errc()) return std::nullopt;
  return seq;
}

}  // namespace

StatusOr<EventFilter> ParseEventFilter(
    const std::function<std::optional<std::string>(std::string_view)>& param) {
  EventFilter filter;
  if (auto since = param("since")) {
    SR_ASSIGN_OR_RETURN(filter.since, NormaliseTime(*since, "since"));
  }
  if (auto until = param("until")) {
    SR_ASSIGN_OR_RETURN(filter.until, NormaliseTime(*until, "until"));
  }
  filter.actor = param("actor");
  filter.action = param("action");
  filter.namespace_name = param("namespace");
  filter.outcome = param("outcome");
  if (filter.outcome && *filter.outcome != "allowed" && *filter.outcome != "denied" &&
      *filter.outcome != "failed") {
    return std::unexpected(Status::InvalidArgument("outcome must be allowed, denied or failed"));
  }
  if (auto limit = param("limit")) {
    SR_ASSIGN_OR_RETURN(std::uint64_t value, Number(*limit, "limit"));
    if (value < 1 || value > kMaxLimit) {
      return std::unexpected(Status::InvalidArgument("limit must be between 1 and 1000"));
    }
    filter.limit = static_cast<std::size_t>(value);
  }
  if (auto order = param("order")) {
    if (*order != "oldest" && *order != "newest") {
      return std::unexpected(Status::InvalidArgument("order must be oldest or newest"));
    }
    filter.newest_first = *order == "newest";
  }
  if (auto cursor = param("continue")) {
    SR_ASSIGN_OR_RETURN(std::uint64_t seq, Number(*cursor, "continue"));
    if (filter.newest_first) {
      filter.before_seq = seq;
    } else {
      filter.after_seq = seq;
    }
  }
  return filter;
}

namespace {

// ParseLogLine parses line `n` of `file`; a line that does not parse is an
// integrity error naming the file and line.
StatusOr<ParsedLine> ParseLogLine(const LogFileSource& file, const FileLines& lines,
                                  std::size_t n) {
  StatusOr<ParsedLine> record = ParseLine(lines.Line(n));
  if (!record.has_value()) {
    return std::unexpected(Status::IntegrityError(
        "audit log " + file.name + " line " + std::to_string(n + 1) + ": " +
        record.error().message() + " (run strongroom audit verify)"));
  }
  return record;
}

// QueryNewestFirst keeps the last `limit` matches before the cursor while
// reading the log in order, then returns them newest first.
StatusOr<EventPage> QueryNewestFirst(const std::vector<LogFileSource>& files,
                                     const EventFilter& filter) {
  std::deque<std::pair<std::uint64_t, std::string>> kept;  // (seq, line), oldest first
  bool dropped = false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    // Files are in seq order: one that starts at or after the cursor, and
    // every later one, holds nothing before it.
    std::optional<std::uint64_t> first = FirstSeqOf(files[i].name);
    if (filter.before_seq && first && *first >= *filter.before_seq) break;
    SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(files[i]));
    for (std::size_t n = 0; n < lines.lines.size(); ++n) {
      SR_ASSIGN_OR_RETURN(ParsedLine record, ParseLogLine(files[i], lines, n));
      if (filter.before_seq && record.seq >= *filter.before_seq) break;
      if (!Matches(record, filter)) continue;
      kept.emplace_back(record.seq, std::string(lines.Line(n)));
      if (kept.size() > filter.limit) {
        kept.pop_front();
        dropped = true;
      }
    }
  }
  EventPage page;
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) page.records.push_back(std::move(it->second));
  if (dropped && !kept.empty()) page.next_after_seq = kept.front().first;
  return page;
}

}  // namespace

StatusOr<EventPage> QueryEvents(const std::string& dir, const EventFilter& filter) {
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(dir));
  if (filter.newest_first) return QueryNewestFirst(files, filter);
  EventPage page;
  std::uint64_t last_seq = filter.after_seq;  // of the last record in the page
  for (std::size_t i = 0; i < files.size(); ++i) {
    // Skip a rotated file whose records all precede the cursor.
    if (i + 1 < files.size()) {
      std::optional<std::uint64_t> next_first = FirstSeqOf(files[i + 1].name);
      if (next_first && *next_first <= filter.after_seq + 1) continue;
    }
    SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(files[i]));
    for (std::size_t n = 0; n < lines.lines.size(); ++n) {
      SR_ASSIGN_OR_RETURN(ParsedLine record, ParseLogLine(files[i], lines, n));
      if (record.seq <= filter.after_seq || !Matches(record, filter)) continue;
      if (page.records.size() == filter.limit) {
        page.next_after_seq = last_seq;
        return page;
      }
      page.records.emplace_back(lines.Line(n));
      last_seq = record.seq;
    }
  }
  return page;
}

}  // namespace strongroom::audit

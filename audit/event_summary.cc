#include "audit/event_summary.h"

#include <deque>
#include <map>
#include <tuple>

#include "audit/log_files.h"

namespace strongroom::audit {
namespace {

// ForEachRecord parses every complete line of the log in `dir`, in order,
// and hands it to `visit`.
Status ForEachRecord(const std::string& dir, const std::function<void(ParsedLine&)>& visit) {
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(dir));
  for (const LogFileSource& file : files) {
    SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(file));
    for (std::size_t n = 0; n < lines.lines.size(); ++n) {
      StatusOr<ParsedLine> record = ParseLine(lines.Line(n));
      if (!record.has_value()) {
        return Status::IntegrityError("audit log " + file.name + " line " + std::to_string(n + 1) +
                                      ": " + record.error().message() +
                                      " (run strongroom audit verify)");
      }
      visit(*record);
    }
  }
  return Status::Ok();
}

// HourOf returns the start of the hour of a record's time
// ("2026-12-06T10:16:45.123456Z" -> "2026-12-06T10:00:00Z").
std::string HourOf(std::string_view time) { return std::string(time.substr(0, 13)) + ":00:00Z"; }

}  // namespace

StatusOr<std::vector<HourlyCount>> CountEventsByHour(const std::string& dir, std::string_view since,
                                                     std::string_view until) {
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> counts;
  SR_RETURN_IF_ERROR(ForEachRecord(dir, [&](ParsedLine& record) {
    if (record.type == RecordType::kCheckpoint || record.outcome.empty()) return;
    if (record.time < since || record.time >= until || record.time.size() < 13) return;
    counts[{HourOf(record.time), record.action, record.outcome}] += record.count.value_or(1);
  }));
  std::vector<HourlyCount> rows;
  rows.reserve(counts.size());
  for (const auto& [key, count] : counts) {
    if (count == 0) continue;
    rows.push_back(HourlyCount{std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  }
  return rows;
}

StatusOr<std::vector<ParsedLine>> LatestEvents(const std::string& dir,
                                               const std::function<bool(const ParsedLine&)>& wanted,
                                               std::size_t limit) {
  std::deque<ParsedLine> latest;
  if (limit == 0) return std::vector<ParsedLine>();
  SR_RETURN_IF_ERROR(ForEachRecord(dir, [&](ParsedLine& record) {
    if (record.type != RecordType::kEvent || !wanted(record)) return;
    latest.push_back(std::move(record));
    if (latest.size() > limit) latest.pop_front();
  }));
  return std::vector<ParsedLine>(latest.rbegin(), latest.rend());
}

}  // namespace strongroom::audit

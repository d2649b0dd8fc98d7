// `strongroom audit verify` and `strongroom audit show`: an auditor's tools.
// Both read only the log files (and, for verify, the pinned public key):
// no token, no store, no server, so they also run on a copy of the log.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "appliance/commands.h"
#include "audit/audit.h"

namespace strongroom::appliance {
namespace {

constexpr std::size_t kMaxPublicKeyBytes = 64 * 1024;

StatusOr<std::string> ReadPublicKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Status::InvalidArgument("cannot read public key file " + path));
  std::string pem;
  pem.resize(kMaxPublicKeyBytes + 1);
  in.read(pem.data(), static_cast<std::streamsize>(pem.size()));
  pem.resize(static_cast<std::size_t>(in.gcount()));
  if (pem.size() > kMaxPublicKeyBytes) {
    return std::unexpected(Status::InvalidArgument("public key file " + path + " is too large"));
  }
  return pem;
}

std::string Text(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// TableRow condenses one record into the columns of `audit show`.
std::string TableRow(const std::string& line) {
  nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!r.is_object()) return "(unreadable record)";
  std::string action = Text(r, "action");
  std::string type = Text(r, "type");
  if (type == "checkpoint") action = "(checkpoint)";
  if (type == "not-committed") action = "(not-committed " + Text(r, "refers_to") + ")";
  if (type == "outcome-unknown") action = "(outcome-unknown " + Text(r, "refers_to") + ")";
  std::string actor, resource, outcome, reason;
  if (auto a = r.find("actor"); a != r.end() && a->is_object()) {
    actor = Text(*a, "kind") + ":" + Text(*a, "name");
  }
  if (auto res = r.find("resource"); res != r.end() && res->is_object()) {
    resource = Text(*res, "namespace") + "/" + Text(*res, "name");
  }
  if (auto o = r.find("outcome"); o != r.end() && o->is_object()) {
    outcome = Text(*o, "result");
    if (o->contains("status")) outcome += " " + Text(*o, "status");
    reason = Text(*o, "reason");
  }
  if (r.contains("count")) reason += " x" + Text(r, "count");
  char row[1024];
  std::snprintf(row, sizeof row, "%-8s %-27s %-36s %-28s %-28s %-12s %s", Text(r, "seq").c_str(),
                Text(r, "time").c_str(), action.c_str(), actor.c_str(), resource.c_str(),
                outcome.c_str(), reason.c_str());
  return row;
}

}  // namespace

Status RunAuditVerify(const AuditVerifyFlags& flags) {
  audit::VerifyOptions options;
  SR_ASSIGN_OR_RETURN(options.public_key_pem, ReadPublicKey(flags.public_key_file));
  if (!audit::PublicKeyFingerprint(options.public_key_pem)) {
    return Status::InvalidArgument(flags.public_key_file + " is not a PEM public key");
  }
  for (const std::string& file : flags.later_public_key_files) {
    SR_ASSIGN_OR_RETURN(std::string pem, ReadPublicKey(file));
    if (!audit::PublicKeyFingerprint(pem)) return Status::InvalidArgument(file + " is not a PEM public key");
    options.more_public_key_pems.push_back(std::move(pem));
  }
  if (!flags.expect_head.empty()) {
    SR_ASSIGN_OR_RETURN(audit::Head head, audit::ParseHead(flags.expect_head));
    options.expect_head = head;
  }
  options.require_sealed = flags.require_sealed;
  if (flags.log_dirs.empty()) return Status::InvalidArgument("--log: name a log directory");
  if (flags.log_dirs.size() > 1 && options.expect_head) {
    return Status::InvalidArgument(
        "--expect-head names one log's head: verify that log on its own with it");
  }
  // One line per log: its summary, and the node its records name (issue
  // 18); with several logs each line starts with its directory.
  std::size_t failed = 0;
  for (const std::string& dir : flags.log_dirs) {
    audit::VerifyReport report = audit::VerifyDirectory(dir, options);
    std::string line = report.Summary();
    if (!report.node.empty()) line += " node=" + report.node;
    if (flags.log_dirs.size() > 1) line = dir + ": " + line;
    std::printf("%s\n", line.c_str());
    if (!report.ok) ++failed;
  }
  if (failed == 1 && flags.log_dirs.size() == 1) {
    return Status::IntegrityError("the audit log does not verify");
  }
  if (failed > 0) {
    return Status::IntegrityError(std::to_string(failed) + " of " +
                                  std::to_string(flags.log_dirs.size()) +
                                  " audit logs do not verify");
  }
  return Status::Ok();
}

Status RunAuditShow(const AuditShowFlags& flags) {
  auto param = [&flags](std::string_view name) -> std::optional<std::string> {
    auto it = flags.filters.find(std::string(name));
    if (it == flags.filters.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  SR_ASSIGN_OR_RETURN(audit::EventFilter filter, audit::ParseEventFilter(param));
  std::size_t wanted = flags.limit;
  bool first_page = true;
  while (wanted > 0) {
    filter.limit = std::min<std::size_t>(wanted, 1000);
    SR_ASSIGN_OR_RETURN(audit::EventPage page, audit::QueryEvents(flags.log_dir, filter));
    if (first_page && !flags.json) {
      std::printf("%-8s %-27s %-36s %-28s %-28s %-12s %s\n", "SEQ", "TIME", "ACTION", "ACTOR",
                  "RESOURCE", "OUTCOME", "REASON");
    }
    first_page = false;
    for (const std::string& line : page.records) {
      std::printf("%s\n", flags.json ? line.c_str() : TableRow(line).c_str());
    }
    wanted -= std::min(wanted, page.records.size());
    if (!page.next_after_seq) break;
    filter.after_seq = *page.next_after_seq;
  }
  return Status::Ok();
}

}  // namespace strongroom::appliance

// Reading a log directory at Open (log_recovery.h): the ends of the rotated
// files, then current.jsonl whole or from the anchored record on.
#include "audit/log_recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "audit/chain_walk.h"
#include "audit/tail_reader.h"

namespace strongroom::audit {
namespace {

constexpr std::string_view kLookFirst =
    " (an auditor should look at the file before anyone moves it)";

Status RefuseAt(const std::string& file, const std::string& where, const std::string& what) {
  return Status::IntegrityError("audit log " + file + " " + where + ": " + what +
                                "; start-up refused" + std::string(kLookFirst));
}

// FailLater is RefuseAt for the deferred verification: the server already
// serves, and now fails closed instead.
Status FailLater(const std::string& file, const std::string& where, const std::string& what) {
  return Status::IntegrityError("audit log " + file + " " + where + ": " + what +
                                "; the server signs nothing more and refuses audited requests "
                                "until an operator has checked the log and restarted it" +
                                std::string(kLookFirst));
}

// RotatedEnds is what the rotated files say without being read whole: the
// chain's head before current.jsonl and record 1's hash.
struct RotatedEnds {
  Head head_before{0, std::string(kZeroHash)};
  std::optional<ParsedLine> last_checkpoint;
  std::string last_key;
  std::string last_node;
  std::string first_record_hash;
};

StatusOr<RotatedEnds> ReadRotatedEnds(const std::string& dir,
                                      const std::vector<LogFileSource>& files) {
  RotatedEnds out;
  if (!files.empty() && files.front().name != kCurrentFileName) {
    StatusOr<std::optional<ParsedLine>> first = FirstRecordOf(dir + "/" + files.front().name);
    if (!first.has_value())
      return std::unexpected(RefuseLine(files.front().name, 1, first.error().message()));
    if (*first && (*first)->seq == 1) out.first_record_hash = (*first)->hash;
  }
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    if (it->name == kCurrentFileName) continue;
    StatusOr<std::optional<ParsedLine>> last = LastRecordOf(dir + "/" + it->name);
    if (!last.has_value()) return std::unexpected(RefuseLine(it->name, 0, last.error().message()));
    if (*last) {
      out.head_before = Head{(*last)->seq, (*last)->hash};
      out.last_node = (*last)->node;
      if ((*last)->checkpoint) out.last_key = (*last)->checkpoint->key_sha256;
      if ((*last)->type == RecordType::kCheckpoint) out.last_checkpoint = *last;
    }
    break;
  }
  return out;
}

StatusOr<OpenFile> OpenCurrent(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return std::unexpected(
        Status::Unavailable("cannot open " + path + ": " + std::strerror(errno)));
  }
  return OpenFile(fd);
}

// TailStart returns the offset of the anchored record's line in
// current.jsonl and that file's first record, or 0 (read it all) when the
// record is not in it, or its first line cannot be read on its own.
StatusOr<std::pair<std::uint64_t, std::optional<ParsedLine>>> TailStart(const std::string& path,
                                                                        int fd,
                                                                        std::uint64_t anchored_seq,
                                                                        const Head& head_before) {
  std::pair<std::uint64_t, std::optional<ParsedLine>> whole{0, std::nullopt};
  if (anchored_seq <= head_before.seq) return whole;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(
        Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno)));
  }
  SR_ASSIGN_OR_RETURN(std::optional<std::uint64_t> found,
                      FindRecordStart(fd, static_cast<std::uint64_t>(st.st_size), anchored_seq));
  if (!found || *found == 0) return whole;
  StatusOr<std::optional<ParsedLine>> first = FirstRecordOf(path);
  if (!first.has_value() || !*first) return whole;  // the whole read reports it
  return std::pair<std::uint64_t, std::optional<ParsedLine>>(*found, std::move(**first));
}

// Walk checks the lines of `lines` (read from byte `from` of `file`) with
// `walk`, naming a bad line by number (from the start of the file) or by
// byte offset (a tail), in an error made by `fail`.
using Failure = Status (*)(const std::string&, const std::string&, const std::string&);
Status Walk(ChainWalk& walk, const FileLines& lines, const std::string& file, std::uint64_t from,
            Failure fail = RefuseAt) {
  for (std::size_t i = 0; i < lines.lines.size(); ++i) {
    Status walked = walk.Line(lines.Line(i));
    if (walked.ok()) continue;
    const std::string where =
        from == 0 ? "line " + std::to_string(i + 1)
                  : "the line at byte " + std::to_string(from + lines.lines[i].first);
    return fail(file, where, walked.message());
  }
  return Status::Ok();
}

// AnchoredHash finds the anchored record's hash when the walk of
// current.jsonl did not hold that record.
StatusOr<std::string> AnchoredHash(const std::string& dir, std::uint64_t anchored_seq,
                                   const ChainWalk& walk, const Head& head_before,
                                   std::uint64_t current_first_seq) {
  if (anchored_seq == 0 || !walk.remembered_hash().empty()) return walk.remembered_hash();
  // The link from the next record proves the anchored hash when the
  // anchored record is in a rotated file archived away.
  if (walk.first_seq() == anchored_seq + 1) return walk.first_prev();
  if (anchored_seq == head_before.seq) return head_before.hash;
  if (anchored_seq >= current_first_seq) return std::string();
  StatusOr<std::optional<ParsedLine>> found = FindRotatedRecord(dir, anchored_seq);
  if (!found.has_value())
    return std::unexpected(RefuseLine("a rotated file", 0, found.error().message()));
  return *found ? (*found)->hash : std::string();
}

}  // namespace

Status RefuseLine(const std::string& file, std::size_t line, const std::string& what) {
  return RefuseAt(file, "line " + std::to_string(line), what);
}

StatusOr<RecoveredLog> ReadLogAtOpen(const std::string& dir, std::uint64_t anchored_seq,
                                     std::uint64_t store_resource_version, bool tail_from_anchor) {
  const std::string name(kCurrentFileName);
  const std::string path = dir + "/" + name;
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(dir));
  SR_ASSIGN_OR_RETURN(RotatedEnds rotated, ReadRotatedEnds(dir, files));
  RecoveredLog out;
  SR_ASSIGN_OR_RETURN(out.current, OpenCurrent(path));
  std::pair<std::uint64_t, std::optional<ParsedLine>> tail{0, std::nullopt};
  if (tail_from_anchor) {
    SR_ASSIGN_OR_RETURN(tail,
                        TailStart(path, out.current.get(), anchored_seq, rotated.head_before));
  }
  const std::uint64_t from = tail.first;
  LogFileSource source{name, OpenFile(::dup(out.current.get()))};
  source.start = from;
  SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(source));
  if (from > 0 && lines.lines.empty()) {
    return std::unexpected(Status::Unavailable(path + " changed while it was read"));
  }
  // A tail starts at the anchored record, whose hash the caller compares
  // with the anchor's; the whole file starts after the rotated files.
  std::optional<Head> start;
  if (from == 0 && rotated.head_before.seq > 0) start = rotated.head_before;
  ChainWalk walk(start, store_resource_version);
  if (start) walk.StartNode(rotated.last_node);
  walk.Remember(anchored_seq);
  SR_RETURN_IF_ERROR(Walk(walk, lines, name, from));
  if (from > 0 && walk.first_seq() != anchored_seq) {
    return std::unexpected(RefuseAt(name, "the line at byte " + std::to_string(from),
                                    "it does not hold record " + std::to_string(anchored_seq)));
  }
  out.current_first_seq = from > 0               ? tail.second->seq
                          : walk.first_seq() > 0 ? walk.first_seq()
                                                 : rotated.head_before.seq + 1;
  out.head = walk.first_seq() > 0 ? walk.head() : rotated.head_before;
  out.head_is_checkpoint =
      walk.first_seq() > 0 ? walk.head_is_checkpoint() : rotated.last_checkpoint.has_value();
  out.unsealed = walk.unsealed();
  out.last_checkpoint = walk.last_checkpoint() ? walk.last_checkpoint() : rotated.last_checkpoint;
  out.last_key = walk.last_key().empty() ? rotated.last_key : walk.last_key();
  out.last_node = walk.first_seq() > 0 ? walk.node() : rotated.last_node;
  out.first_record_hash = rotated.first_record_hash;
  if (!walk.first_record_hash().empty()) out.first_record_hash = walk.first_record_hash();
  if (tail.second && tail.second->seq == 1) out.first_record_hash = tail.second->hash;
  SR_ASSIGN_OR_RETURN(out.anchored_hash, AnchoredHash(dir, anchored_seq, walk, rotated.head_before,
                                                      out.current_first_seq));
  out.current_size = from + (lines.partial ? *lines.partial : lines.bytes.size());
  if (lines.partial) {
    out.partial_at = from + *lines.partial;
    out.partial = lines.bytes.substr(*lines.partial);
  }
  out.writes = std::move(walk.writes());
  out.cancelled = walk.cancelled();
  if (from > 0) {
    out.unread = UnreadPrefix{from, start, "", std::string(lines.Line(0)), anchored_seq};
    if (rotated.head_before.seq > 0) {
      out.unread->start = rotated.head_before;
      out.unread->start_node = rotated.last_node;
    }
  }
  return out;
}

StatusOr<VerifiedPrefix> VerifyUnreadPrefix(const OpenFile& current, const UnreadPrefix& prefix,
                                            std::uint64_t store_resource_version) {
  const std::string name(kCurrentFileName);
  LogFileSource source{name, OpenFile(::dup(current.get()))};
  source.limit = prefix.bytes;
  SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(source));
  if (lines.partial || lines.bytes.size() != prefix.bytes) {
    return std::unexpected(FailLater(name, "before byte " + std::to_string(prefix.bytes),
                                     "the lines before record " + std::to_string(prefix.next_seq) +
                                         " are not whole lines any more"));
  }
  ChainWalk walk(prefix.start, store_resource_version);
  if (prefix.start) walk.StartNode(prefix.start_node);
  SR_RETURN_IF_ERROR(Walk(walk, lines, name, 0, FailLater));
  if (Status joined = walk.Line(prefix.next_line); !joined.ok()) {
    return std::unexpected(
        FailLater(name, "the line at byte " + std::to_string(prefix.bytes), joined.message()));
  }
  return VerifiedPrefix{std::move(walk.writes()), walk.cancelled()};
}

}  // namespace strongroom::audit

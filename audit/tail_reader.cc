#include "audit/tail_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "audit/log_files.h"

namespace strongroom::audit {
namespace {

constexpr std::size_t kTailBytes = 1 << 16;  // records are far shorter

StatusOr<std::string> ReadRange(int fd, std::uint64_t offset, std::size_t length) {
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return std::unexpected(
          Status::Unavailable(std::string("cannot read the audit log: ") + std::strerror(errno)));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

// LineSeq reads N from a line that starts `{"seq":N,`; nullopt otherwise.
std::optional<std::uint64_t> LineSeq(std::string_view line) {
  constexpr std::string_view kOpen = "{\"seq\":";
  if (!line.starts_with(kOpen)) return std::nullopt;
  line.remove_prefix(kOpen.size());
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), seq);
  if (ec != std::errc() || end == line.data() || end == line.data() + line.size() || *end != ',')
    return std::nullopt;
  return seq;
}

// LineAt is the line of `window` that starts at `offset`, without "\n".
std::string_view LineAt(std::string_view window, std::size_t offset) {
  std::string_view line = window.substr(offset);
  return line.substr(0, line.find('\n'));
}

}  // namespace

StatusOr<std::optional<std::uint64_t>> FindRecordStart(int fd, std::uint64_t size,
                                                       std::uint64_t seq) {
  std::string window;  // the file's bytes [from, size)
  std::uint64_t from = size;
  std::size_t chunk = kTailBytes;
  std::optional<std::uint64_t> last_newline;  // ends the last complete line
  while (from > 0) {
    const std::uint64_t read_from = from > chunk ? from - chunk : 0;
    SR_ASSIGN_OR_RETURN(std::string bytes,
                        ReadRange(fd, read_from, static_cast<std::size_t>(from - read_from)));
    if (bytes.size() != from - read_from) {
      return std::unexpected(Status::Unavailable("the audit log shrank while it was read"));
    }
    window.insert(0, bytes);
    const std::uint64_t scanned_from = from;
    from = read_from;
    chunk = std::min<std::size_t>(chunk * 2, std::size_t{1} << 24);
    // Lines start after each newline and at the file's first byte; the
    // newlines of the new bytes are visited from the last one back.
    for (std::uint64_t at = scanned_from; at-- > from;) {
      if (window[at - from] != '\n') continue;
      if (!last_newline) {
        last_newline = at;  // what follows it is incomplete, or nothing
        continue;
      }
      std::optional<std::uint64_t> found = LineSeq(LineAt(window, at + 1 - from));
      if (!found || *found < seq) return std::optional<std::uint64_t>();
      if (*found == seq) return std::optional<std::uint64_t>(at + 1);
    }
  }
  if (last_newline && LineSeq(LineAt(window, 0)) == seq) return std::optional<std::uint64_t>(0);
  return std::optional<std::uint64_t>();
}

StatusOr<std::optional<ParsedLine>> FirstRecordOf(const std::string& path) {
  OpenFile file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (file.get() < 0) return std::unexpected(Status::Unavailable("cannot open " + path));
  SR_ASSIGN_OR_RETURN(std::string head, ReadRange(file.get(), 0, kTailBytes));
  std::size_t end = head.find('\n');
  if (end == std::string::npos) return std::optional<ParsedLine>();
  SR_ASSIGN_OR_RETURN(ParsedLine first, ParseLine(std::string_view(head).substr(0, end)));
  return std::optional<ParsedLine>(std::move(first));
}

StatusOr<std::optional<ParsedLine>> LastRecordOf(const std::string& path) {
  OpenFile file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (file.get() < 0) return std::unexpected(Status::Unavailable("cannot open " + path));
  struct stat st;
  if (::fstat(file.get(), &st) != 0)
    return std::unexpected(Status::Unavailable("cannot stat " + path));
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) return std::optional<ParsedLine>();
  std::uint64_t offset = size > kTailBytes ? size - kTailBytes : 0;
  SR_ASSIGN_OR_RETURN(std::string tail,
                      ReadRange(file.get(), offset, static_cast<std::size_t>(size - offset)));
  if (tail.empty() || tail.back() != '\n') {
    return std::unexpected(Status::Unavailable(path + " ends with an incomplete line"));
  }
  tail.pop_back();
  std::size_t start = tail.rfind('\n');
  start = start == std::string::npos ? 0 : start + 1;
  if (start == 0 && offset != 0) {
    return std::unexpected(Status::IntegrityError(path + ": its last line is too long"));
  }
  SR_ASSIGN_OR_RETURN(ParsedLine last, ParseLine(std::string_view(tail).substr(start)));
  return std::optional<ParsedLine>(std::move(last));
}

StatusOr<std::optional<ParsedLine>> FindRotatedRecord(const std::string& dir, std::uint64_t seq) {
  SR_ASSIGN_OR_RETURN(std::vector<LogFileSource> files, OpenLogFiles(dir));
  const LogFileSource* holder = nullptr;
  for (const LogFileSource& file : files) {
    if (file.name == kCurrentFileName) break;
    if (file.name > RotatedFileName(seq)) break;  // 20 digits: names sort as numbers
    holder = &file;
  }
  if (holder == nullptr) return std::optional<ParsedLine>();
  SR_ASSIGN_OR_RETURN(FileLines lines, ReadLines(*holder));
  for (std::size_t i = 0; i < lines.lines.size(); ++i) {
    SR_ASSIGN_OR_RETURN(ParsedLine line, ParseLine(lines.Line(i)));
    if (line.seq == seq) return std::optional<ParsedLine>(std::move(line));
    if (line.seq > seq) break;
  }
  return std::optional<ParsedLine>();
}

Status SyncDirectory(const std::string& dir) {
  OpenFile handle(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (handle.get() < 0 || ::fsync(handle.get()) != 0) {
    return Status::Unavailable("cannot sync the directory " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace strongroom::audit

#include "audit/tail_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

}  // namespace

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

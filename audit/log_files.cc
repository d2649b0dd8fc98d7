#include "audit/log_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace strongroom::audit {
namespace {

bool IsRotatedName(std::string_view name) {
  return name.size() == 6 + 20 + 6 && name.starts_with("audit-") && name.ends_with(".jsonl") &&
         std::all_of(name.begin() + 6, name.begin() + 26,
                     [](char c) { return c >= '0' && c <= '9'; });
}

StatusOr<OpenFile> OpenForReading(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::unexpected(Status::NotFound("no file " + path));
    return std::unexpected(Status::Internal("cannot open " + path + ": " + std::strerror(errno)));
  }
  return OpenFile(fd);
}

}  // namespace

std::string RotatedFileName(std::uint64_t first_seq) {
  char name[64];
  std::snprintf(name, sizeof(name), "audit-%020llu.jsonl",
                static_cast<unsigned long long>(first_seq));
  return name;
}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::vector<LogFileSource>> OpenLogFiles(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return std::unexpected(Status::NotFound("no audit directory " + dir));
    return std::unexpected(Status::Internal("cannot list " + dir + ": " + std::strerror(errno)));
  }
  std::vector<std::string> rotated;
  bool has_current = false;
  while (dirent* entry = ::readdir(handle)) {
    std::string_view name = entry->d_name;
    if (IsRotatedName(name)) rotated.emplace_back(name);
    if (name == kCurrentFileName) has_current = true;
  }
  ::closedir(handle);
  std::sort(rotated.begin(), rotated.end());  // fixed-width numbers sort as text
  if (has_current) rotated.emplace_back(kCurrentFileName);
  std::vector<LogFileSource> out;
  for (const std::string& name : rotated) {
    StatusOr<OpenFile> file = OpenForReading(dir + "/" + name);
    // A rotation may rename current.jsonl between the listing and here;
    // the caller sees the chain as it was plus what it can still open.
    if (!file.has_value()) {
      if (file.error().code() == StatusCode::kNotFound) continue;
      return std::unexpected(file.error());
    }
    out.push_back(LogFileSource{name, std::move(*file)});
  }
  return out;
}

StatusOr<FileLines> ReadLines(const LogFileSource& source) {
  FileLines out;
  char buffer[1 << 16];
  std::uint64_t offset = source.start;
  while (offset < source.limit) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(sizeof(buffer), source.limit - offset));
    ssize_t n = ::pread(source.file.get(), buffer, want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(
          Status::Internal("cannot read " + source.name + ": " + std::strerror(errno)));
    }
    if (n == 0) break;
    out.bytes.append(buffer, static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  std::string_view all = out.bytes;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\n', start);
    if (end == std::string_view::npos) {
      out.partial = start;
      break;
    }
    out.lines.emplace_back(start, end - start);
    start = end + 1;
  }
  return out;
}

}  // namespace strongroom::audit

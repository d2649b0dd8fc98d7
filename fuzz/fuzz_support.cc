#include "fuzz/fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/secure_arena.h"

namespace strongroom::fuzz {

void InstallArena() {
  static const bool installed = [] {
    SecureArenaOptions options;
    options.allow_unlocked = true;
    Status status = SecureArena::InstallProcessArena(options);
    Check(status.ok(), "cannot install the secure arena");
    return true;
  }();
  (void)installed;
}

std::vector<std::string_view> SplitPieces(std::string_view text, std::size_t max_pieces) {
  std::vector<std::string_view> pieces;
  while (pieces.size() + 1 < max_pieces) {
    std::size_t at = text.find(kPieceSeparator);
    if (at == std::string_view::npos) break;
    pieces.push_back(text.substr(0, at));
    text.remove_prefix(at + kPieceSeparator.size());
  }
  pieces.push_back(text);
  return pieces;
}

MemoryFile::MemoryFile() {
  fd_ = memfd_create("strongroom-fuzz", MFD_CLOEXEC);
  Check(fd_ >= 0, "memfd_create failed");
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() {
  if (fd_ >= 0) close(fd_);
}

void MemoryFile::Replace(std::string_view contents) {
  Check(ftruncate(fd_, 0) == 0, "ftruncate failed");
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = pwrite(fd_, contents.data() + written, contents.size() - written,
                       static_cast<off_t>(written));
    Check(n > 0, "pwrite failed");
    written += static_cast<std::size_t>(n);
  }
  Check(lseek(fd_, 0, SEEK_SET) == 0, "lseek failed");
}

void Check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace strongroom::fuzz

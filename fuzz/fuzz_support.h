// fuzz/fuzz_support.h — what the fuzz targets share: the process's secure
// arena, splitting one input into several pieces, an in-memory file for
// parsers that read a path, and the one way a target reports a broken
// invariant. No server, no token, no network.
// Thread-safety: single-threaded, as libFuzzer and the replay driver run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::fuzz {

// kPieceSeparator splits an input into pieces (several files, or a
// context and a text): a line holding only "----".
inline constexpr std::string_view kPieceSeparator = "\n----\n";

// AsText views the fuzz input as characters.
inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// InstallArena installs the process's secure arena once (unlocked memory
// is accepted: a fuzzing machine may cap mlock). Aborts when it cannot.
void InstallArena();

// SplitPieces cuts `text` at every kPieceSeparator, keeping at most
// `max_pieces` pieces (the last one holds the rest).
std::vector<std::string_view> SplitPieces(std::string_view text, std::size_t max_pieces);

// MemoryFile is an anonymous in-memory file (memfd) named by a
// /proc/self/fd path, rewritten for each input.
class MemoryFile {
 public:
  MemoryFile();
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replace makes `contents` the whole file and rewinds it.
  void Replace(std::string_view contents);
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Check aborts with `what` when `condition` is false: a broken invariant
// is a finding, like a sanitizer report.
void Check(bool condition, const char* what);

}  // namespace strongroom::fuzz

// tests/support/temp_dir.h — a private temporary directory removed (with its
// contents) when the owner goes away.
#pragma once

#include <string>

namespace strongroom::testing_support {

class TempDir {
 public:
  // Creates /tmp/strongroom-test-XXXXXX (mode 0700). Aborts the test binary
  // if that fails.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Join returns path()/name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ReadFileBytes returns the whole file (empty if it cannot be read).
std::string ReadFileBytes(const std::string& path);
// WriteFileBytes writes `data` with `mode`, replacing the file. Returns false on error.
bool WriteFileBytes(const std::string& path, const std::string& data, unsigned mode = 0600);

}  // namespace strongroom::testing_support

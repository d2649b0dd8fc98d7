// tests/support/shell_command.h — runs a shell command line for tests that
// drive an external tool (curl, kubectl, promtool), bounded in time.
// Thread-safety: RunShell may be called from any thread.
#pragma once

#include <string>

namespace strongroom::testing_support {

struct ShellResult {
  int exit_code = -1;  // the command's exit status; -1 if it could not run or was killed
  std::string out;     // its stdout (redirect stderr in `line` to see it too)
};

// RunShell runs `line` with /bin/sh under `timeout 60` and captures stdout.
ShellResult RunShell(const std::string& line);

}  // namespace strongroom::testing_support

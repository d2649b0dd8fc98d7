#include "tests/support/shell_command.h"

#include <sys/wait.h>

#include <cstdio>

namespace strongroom::testing_support {

ShellResult RunShell(const std::string& line) {
  ShellResult result;
  FILE* pipe = ::popen(("timeout 60 " + line).c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace strongroom::testing_support

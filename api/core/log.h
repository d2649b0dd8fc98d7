// api/core/log.h — structured logs: one JSON object per line on stderr (SPEC
// 6.6). SECURITY: callers pass only non-secret fields; there is no way to
// log a SecretBytes.
// Thread-safety: thread-safe (one write per line).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strongroom::api {

enum class LogLevel { kInfo, kWarning, kError };

// LogEvent writes {"time":..,"level":..,"msg":..,<fields>} to stderr.
void LogEvent(LogLevel level, std::string_view message,
              const std::vector<std::pair<std::string, std::string>>& fields = {});

}  // namespace strongroom::api

#include "api/core/log.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace strongroom::api {

void LogEvent(LogLevel level, std::string_view message,
              const std::vector<std::pair<std::string, std::string>>& fields) {
  nlohmann::ordered_json line;
  line["time"] = Rfc3339Micros(Clock::Real()->Now());
  line["level"] = level == LogLevel::kInfo      ? "info"
                  : level == LogLevel::kWarning ? "warning"
                                                : "error";
  line["msg"] = std::string(message);
  for (const auto& [key, value] : fields) line[key] = value;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace strongroom::api

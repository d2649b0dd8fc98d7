#include "api/wire/rfc3339_time.h"

#include <chrono>
#include <optional>
#include <string>

namespace strongroom::api {
namespace {

// Digits reads `count` decimal digits at `at`; nullopt unless all are digits.
std::optional<int> Digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool IsAt(std::string_view text, std::size_t at, char expected) {
  return at < text.size() && text[at] == expected;
}

}  // namespace

StatusOr<TimePoint> ParseRfc3339Time(std::string_view text, std::string_view field) {
  auto bad = [&] {
    return std::unexpected(Status::InvalidArgument(
        std::string(field) + " must be an RFC 3339 time such as 2026-12-06T10:00:00Z"));
  };
  std::optional<int> year = Digits(text, 0, 4), month = Digits(text, 5, 2),
                     day = Digits(text, 8, 2), hour = Digits(text, 11, 2),
                     minute = Digits(text, 14, 2), second = Digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !IsAt(text, 4, '-') ||
      !IsAt(text, 7, '-') || !(IsAt(text, 10, 'T') || IsAt(text, 10, 't')) ||
      !IsAt(text, 13, ':') || !IsAt(text, 16, ':')) {
    return bad();
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return bad();
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (IsAt(text, at, '.')) {
    std::size_t digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 6) micros = micros * 10 + (text[at] - '0');
    }
    if (digits == 0 || digits > 9) return bad();
    for (std::size_t d = digits; d < 6; ++d) micros *= 10;
  }
  std::chrono::minutes offset{0};
  if (IsAt(text, at, 'Z') || IsAt(text, at, 'z')) {
    ++at;
  } else if (IsAt(text, at, '+') || IsAt(text, at, '-') || IsAt(text, at, ' ')) {
    const int sign = text[at] == '-' ? -1 : 1;
    std::optional<int> offset_hours = Digits(text, at + 1, 2);
    std::optional<int> offset_minutes = Digits(text, at + 4, 2);
    if (!offset_hours || !offset_minutes || !IsAt(text, at + 3, ':') || *offset_hours > 23 ||
        *offset_minutes > 59) {
      return bad();
    }
    offset = std::chrono::minutes(sign * (*offset_hours * 60 + *offset_minutes));
    at += 6;
  } else {
    return bad();
  }
  if (at != text.size()) return bad();
  const TimePoint local = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                          std::chrono::minutes(*minute) + std::chrono::seconds(*second) +
                          std::chrono::microseconds(micros);
  return local - offset;
}

}  // namespace strongroom::api

// api/wire/rfc3339_time.h — reading an RFC 3339 time from request text (the
// `from` and `to` of GET /api/audit/counts). Pure function.
// Thread-safety: may be called from any thread.
#pragma once

#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace strongroom::api {

// ParseRfc3339Time reads "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"
// (RFC 3339's date-time; 't' and 'z' in either case; a fraction of 1 to 9
// digits, kept to the microsecond) as a UTC time point. A space where the
// offset's '+' belongs is read as '+', since an unescaped '+' in a query
// string decodes to a space. kInvalidArgument naming `field` for anything
// else, including a day or time that does not exist (2026-02-30, 24:00:00)
// and a leap second.
StatusOr<TimePoint> ParseRfc3339Time(std::string_view text, std::string_view field);

}  // namespace strongroom::api

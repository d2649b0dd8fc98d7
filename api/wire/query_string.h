// api/wire/query_string.h — decoding of percent-encoded URL text (query parameter
// names and values). Pure function. Thread-safety: may be called from any
// thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace strongroom::api {

// PercentDecode returns `text` with every %XX escape (hex digits of either
// case) replaced by its byte and, when `plus_is_space`, every '+' replaced by
// a space (as in application/x-www-form-urlencoded query strings).
// kInvalidArgument for a truncated escape ("%", "%4") or a non-hex digit.
// The result may hold any byte, including NUL and invalid UTF-8: callers
// validate it for their own use.
StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space = true);

}  // namespace strongroom::api

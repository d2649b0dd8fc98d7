// api/utf8.h — strict UTF-8 validation for text that reaches JSON, storage or
// logs. Pure function. Thread-safety: may be called from any thread.
#pragma once

#include <string_view>

namespace strongroom::api {

// IsValidUtf8 returns true when `text` is well-formed UTF-8 as RFC 3629
// defines it: no overlong forms, no surrogate code points (U+D800..U+DFFF),
// nothing above U+10FFFF, no truncated sequence. The empty string is valid.
bool IsValidUtf8(std::string_view text);

}  // namespace strongroom::api

// base/json_text.h — writing JSON text directly, without building a JSON
// document first (a heap allocation per member). Used where it is hot: the
// decrypt responses and every audit record line (issue 6).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace strongroom {

// AppendJsonString appends `text` as a JSON string literal (quotes
// included): '"' and '\' are escaped, control characters U+0000..U+001F
// become \b \f \n \r \t or \u00XX, and well-formed UTF-8 is copied as is,
// so valid text decodes back to exactly `text`. A byte that starts no
// well-formed UTF-8 sequence (an odd certificate subject) becomes U+FFFD:
// the result is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace strongroom

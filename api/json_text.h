// api/json_text.h — writing JSON text directly, for responses on the
// decrypt path where building a JSON document first would cost a heap
// allocation per member (issue 6's hot path).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace strongroom::api {

// AppendJsonString appends `text` as a JSON string literal (quotes
// included): '"' and '\' are escaped, control characters U+0000..U+001F
// become \b \f \n \r \t or \u00XX, every other byte is copied as is.
// REQUIRES: `text` is valid UTF-8 (values are checked at create), so the
// result is valid JSON that decodes to exactly `text`.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace strongroom::api

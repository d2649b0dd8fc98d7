// base/utf8.h — strict UTF-8 (RFC 3629) for text that reaches JSON, storage
// or logs. Pure functions. Thread-safety: may be called from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace strongroom {

// Utf8SequenceLength returns the length (1 to 4) of the well-formed UTF-8
// sequence that starts at text[at], or 0 when none does: no overlong forms,
// no surrogate code points (U+D800..U+DFFF), nothing above U+10FFFF, no
// truncated sequence, no stray continuation byte.
// REQUIRES: at < text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t at);

// IsValidUtf8 returns true when all of `text` is well-formed UTF-8. The
// empty string is valid.
bool IsValidUtf8(std::string_view text);

}  // namespace strongroom

// policies/names.h — the syntax of the names a policy file holds: namespaces,
// role names and subject names.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace strongroom::policies {

// IsValidBindingNamespace: `name` is "*" (every namespace) or an RFC 1123
// label: 1 to 63 characters of lowercase letters, digits and '-', starting
// and ending with a letter or digit.
bool IsValidBindingNamespace(std::string_view name);

// IsValidRoleName: 1 to 64 characters of letters, digits, '.', '_' and '-'.
bool IsValidRoleName(std::string_view name);

// IsValidSubjectName: a user login or service name: 1 to 253 bytes, no control
// characters, no leading or trailing space (a CN may hold inner spaces).
bool IsValidSubjectName(std::string_view name);

// EqualsIgnoringAsciiCase: `a` and `b` are equal once ASCII letters are
// lowercased (DNS names, and role names checked against the built-in ones).
bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b);

}  // namespace strongroom::policies

// policies/json_members.h — typed access to the members of a policy file's
// JSON objects, each error naming the file and line. Private to policies/.
// Thread-safety: pure functions.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "policies/source_document.h"

namespace strongroom::policies {

// CheckObject: the value at `pointer` is an object whose members are all
// among `allowed`. `what` names the value in the error ("a binding").
Status CheckObject(const SourceDocument& document, const std::string& pointer,
                   std::string_view what, std::initializer_list<std::string_view> allowed);

// StringMember returns member `key` of the object at `pointer`: a non-empty
// string. kInvalidArgument when it is missing and `required`, is not a
// string, or is empty; "" when it is missing and not required.
StatusOr<std::string> StringMember(const SourceDocument& document, const std::string& pointer,
                                   std::string_view key, bool required);

// ArrayMember returns member `key` of the object at `pointer` when it is an
// array, nullptr when it is missing and not `required`; kInvalidArgument
// otherwise.
StatusOr<const nlohmann::json*> ArrayMember(const SourceDocument& document,
                                            const std::string& pointer, std::string_view key,
                                            bool required);

// ValueAt returns the value at `pointer`. REQUIRES: it exists.
const nlohmann::json& ValueAt(const SourceDocument& document, const std::string& pointer);

}  // namespace strongroom::policies

// policies/source_document.h — one policy file parsed as JSON, remembering the
// line of every value so an error can name "<file>:<line>". Private to
// policies/.
// Thread-safety: a value; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace strongroom::policies {

class SourceDocument {
 public:
  // Parse parses `text` (the contents of the file `path`) as one strict JSON
  // value: no comments, no trailing data, valid UTF-8, no member repeated in
  // an object. kInvalidArgument "<path>:<line>: <reason>" otherwise.
  static StatusOr<SourceDocument> Parse(std::string path, std::string_view text);

  const std::string& path() const { return path_; }
  const nlohmann::json& root() const { return root_; }

  // LineOf returns the 1-based line where the value at JSON pointer
  // `pointer` ("" for the root, "/bindings/2/role") starts, or that of its
  // nearest ancestor when the pointer names no value (a missing member).
  int LineOf(std::string_view pointer) const;

  // Where returns "<path>:<line of pointer>".
  std::string Where(std::string_view pointer) const;

  // Error returns kInvalidArgument "<path>:<line of pointer>: <reason>".
  Status Error(std::string_view pointer, std::string_view reason) const;

 private:
  friend class DocumentBuilder;
  SourceDocument() = default;

  std::string path_;
  nlohmann::json root_;
  std::unordered_map<std::string, int> lines_;  // JSON pointer -> line
};

// ChildPointer returns the JSON pointer of member `key` of the object at
// `parent` (escaping '~' and '/' as RFC 6901 says).
std::string ChildPointer(std::string_view parent, std::string_view key);

// ChildPointer returns the JSON pointer of element `index` of the array at
// `parent`.
std::string ChildPointer(std::string_view parent, std::size_t index);

}  // namespace strongroom::policies

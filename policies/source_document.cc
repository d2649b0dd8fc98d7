#include "policies/source_document.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <vector>

namespace strongroom::policies {
namespace {

using nlohmann::json;

// TrackingIterator walks the file's bytes and records the last byte the JSON
// lexer read. When the parser reports a value, the lexer has just read that
// value's last byte (or, after a number, the one byte that ended it), so
// that byte's line is the value's line: JSON strings cannot span lines.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* position, const char** last_read)
      : position_(position), last_read_(last_read) {}
  reference operator*() const {
    *last_read_ = position_;
    return *position_;
  }
  TrackingIterator& operator++() {
    ++position_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++position_;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return position_ == other.position_; }

 private:
  const char* position_;
  const char** last_read_;
};

// LineIndex turns a byte offset into a 1-based line number.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') newlines_.push_back(i);
    }
  }
  // LineAt: the line holding byte `offset` (a newline belongs to the line it ends).
  int LineAt(std::size_t offset) const {
    auto before = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    return static_cast<int>(before - newlines_.begin()) + 1;
  }

 private:
  std::vector<std::size_t> newlines_;
};

// ParseErrorReason drops nlohmann's "[json.exception...] parse error at line
// L, column C: " prefix: the caller puts its own "<file>:<line>: " in front.
std::string ParseErrorReason(const std::string& what) {
  std::size_t column = what.find("column ");
  std::size_t colon = column == std::string::npos ? what.find("]: ") : what.find(": ", column);
  if (colon == std::string::npos) return what;
  return what.substr(colon + (what[colon] == ']' ? 3 : 2));
}

}  // namespace

// DocumentBuilder is the SAX handler: it builds the JSON value, records the
// line of every value under its JSON pointer and refuses repeated members.
class DocumentBuilder : public nlohmann::json_sax<json> {
 public:
  DocumentBuilder(SourceDocument& document, std::string_view text, const char* const* last_read)
      : document_(document), text_(text), index_(text), last_read_(last_read) {}

  bool null() override { return Value(json(nullptr)); }
  bool boolean(bool value) override { return Value(json(value)); }
  bool number_integer(number_integer_t value) override { return Value(json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return Value(json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return Value(json(value)); }
  bool string(string_t& value) override { return Value(json(std::move(value))); }
  // Text JSON has no binary values; the JSON parser never reports one.
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(json::object()); }
  bool start_array(std::size_t) override { return Open(json::array()); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }

  bool key(string_t& name) override {
    Frame& frame = frames_.back();
    if (!frame.keys.insert(name).second) {
      error_ = ErrorHere("member \"" + name + "\" appears twice in one object");
      return false;
    }
    frame.key = name;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // `position` counts the bytes read, the offending one included.
    std::size_t offset = position == 0 ? 0 : std::min(position - 1, text_.size());
    error_ = ErrorAt(offset, ParseErrorReason(error.what()));
    return false;
  }

  const Status& error() const { return error_; }

 private:
  struct Frame {
    std::string pointer;
    json* container;
    std::size_t next_index = 0;
    std::set<std::string> keys;
    std::string key;
  };

  Status ErrorAt(std::size_t offset, const std::string& reason) const {
    return Status::InvalidArgument(document_.path_ + ":" + std::to_string(index_.LineAt(offset)) +
                                   ": " + reason);
  }
  // ErrorHere: an error on the line of the last byte the lexer read.
  Status ErrorHere(const std::string& reason) const { return ErrorAt(LastReadOffset(), reason); }
  std::size_t LastReadOffset() const {
    return static_cast<std::size_t>(*last_read_ - text_.data());
  }

  // Place inserts `value` where the parser is and records its line.
  json* Place(json value) {
    std::string pointer;
    json* placed = nullptr;
    if (frames_.empty()) {
      document_.root_ = std::move(value);
      placed = &document_.root_;
    } else if (Frame& parent = frames_.back(); parent.container->is_array()) {
      pointer = ChildPointer(parent.pointer, parent.next_index++);
      parent.container->push_back(std::move(value));
      placed = &parent.container->back();
    } else {
      pointer = ChildPointer(parent.pointer, parent.key);
      placed = &((*parent.container)[parent.key] = std::move(value));
    }
    document_.lines_[pointer] = index_.LineAt(LastReadOffset());
    last_pointer_ = std::move(pointer);
    return placed;
  }

  bool Value(json value) {
    Place(std::move(value));
    return true;
  }
  bool Open(json container) {
    json* placed = Place(std::move(container));
    frames_.push_back(Frame{last_pointer_, placed});
    return true;
  }
  bool Close() {
    frames_.pop_back();
    return true;
  }

  SourceDocument& document_;
  std::string_view text_;
  LineIndex index_;
  const char* const* last_read_;
  std::vector<Frame> frames_;
  std::string last_pointer_;
  Status error_;
};

StatusOr<SourceDocument> SourceDocument::Parse(std::string path, std::string_view text) {
  SourceDocument document;
  document.path_ = std::move(path);
  const char* last_read = text.data();
  DocumentBuilder builder(document, text, &last_read);
  TrackingIterator begin(text.data(), &last_read);
  TrackingIterator end(text.data() + text.size(), &last_read);
  bool parsed = json::sax_parse(begin, end, &builder);
  if (!builder.error().ok()) return std::unexpected(builder.error());
  if (!parsed) return std::unexpected(document.Error("", "not valid JSON"));
  return document;
}

int SourceDocument::LineOf(std::string_view pointer) const {
  std::string key(pointer);
  while (true) {
    auto it = lines_.find(key);
    if (it != lines_.end()) return it->second;
    std::size_t slash = key.rfind('/');
    if (slash == std::string::npos) return 1;
    key.resize(slash);
  }
}

std::string SourceDocument::Where(std::string_view pointer) const {
  return path_ + ":" + std::to_string(LineOf(pointer));
}

Status SourceDocument::Error(std::string_view pointer, std::string_view reason) const {
  return Status::InvalidArgument(Where(pointer) + ": " + std::string(reason));
}

std::string ChildPointer(std::string_view parent, std::string_view key) {
  std::string pointer(parent);
  pointer.push_back('/');
  for (char c : key) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer.push_back(c);
    }
  }
  return pointer;
}

std::string ChildPointer(std::string_view parent, std::size_t index) {
  return std::string(parent) + "/" + std::to_string(index);
}

}  // namespace strongroom::policies

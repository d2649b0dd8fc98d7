#include "api/wire/sensu_selector.h"

#include <algorithm>
#include <cctype>

namespace strongroom::api {
namespace {

// Scanner walks a selector's text, skipping blanks between tokens.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() {
    SkipBlanks();
    return pos_ == text_.size();
  }
  // Eat consumes `token` when it comes next.
  bool Eat(std::string_view token) {
    SkipBlanks();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  // Word reads a bare word (no blank, quote, bracket, comma, '=', '!' or
  // '&') or a quoted string.
  StatusOr<std::string> Word(std::string_view what) {
    SkipBlanks();
    if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
      const char quote = text_[pos_];
      std::size_t end = text_.find(quote, pos_ + 1);
      if (end == std::string_view::npos) return Error("an unterminated quote");
      std::string word(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return word;
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !IsSpecial(text_[pos_])) ++pos_;
    if (pos_ == start) return Error("expected " + std::string(what));
    return std::string(text_.substr(start, pos_ - start));
  }
  std::unexpected<Status> Error(const std::string& what) const {
    return std::unexpected(
        Status::InvalidArgument("selector: " + what + " at character " + std::to_string(pos_ + 1)));
  }

 private:
  static bool IsSpecial(char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == '[' ||
           c == ']' || c == ',' || c == '=' || c == '!' || c == '&';
  }
  void SkipBlanks() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

StatusOr<SensuSelector> SensuSelector::Parse(std::string_view text,
                                             std::span<const std::string_view> fields) {
  SensuSelector selector;
  Scanner scanner(text);
  if (scanner.AtEnd()) return selector;
  do {
    Clause clause;
    SR_ASSIGN_OR_RETURN(clause.key, scanner.Word("a key"));
    if (!fields.empty() && std::find(fields.begin(), fields.end(), clause.key) == fields.end()) {
      std::string known;
      for (std::string_view field : fields)
        known += (known.empty() ? "" : ", ") + std::string(field);
      return std::unexpected(Status::InvalidArgument(
          "selector: unknown field \"" + clause.key.substr(0, 64) + "\" (fields: " + known + ")"));
    }
    bool list = false;
    if (scanner.Eat("==")) {
      clause.op = Op::kEquals;
    } else if (scanner.Eat("!=")) {
      clause.op = Op::kNotEquals;
    } else if (scanner.Eat("notin")) {
      clause.op = Op::kNotIn;
      list = true;
    } else if (scanner.Eat("in")) {
      clause.op = Op::kIn;
      list = true;
    } else if (scanner.Eat("matches")) {
      clause.op = Op::kMatches;
    } else {
      return scanner.Error("expected ==, !=, in, notin or matches");
    }
    if (list) {
      if (!scanner.Eat("[")) return scanner.Error("expected [ to open a list");
      do {
        SR_ASSIGN_OR_RETURN(std::string value, scanner.Word("a value"));
        clause.values.push_back(std::move(value));
      } while (scanner.Eat(","));
      if (!scanner.Eat("]")) return scanner.Error("expected ] or , in a list");
    } else {
      SR_ASSIGN_OR_RETURN(std::string value, scanner.Word("a value"));
      clause.values.push_back(std::move(value));
    }
    selector.clauses_.push_back(std::move(clause));
  } while (scanner.Eat("&&"));
  if (!scanner.AtEnd()) return scanner.Error("expected && or the end");
  return selector;
}

bool SensuSelector::Matches(const Lookup& lookup) const {
  for (const Clause& clause : clauses_) {
    std::optional<std::string_view> value = lookup(clause.key);
    bool listed = value && std::find(clause.values.begin(), clause.values.end(), *value) !=
                               clause.values.end();
    bool holds = false;
    switch (clause.op) {
      case Op::kEquals:
      case Op::kIn:
        holds = listed;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        holds = !listed;
        break;
      case Op::kMatches:
        holds = value && value->find(clause.values.front()) != std::string_view::npos;
        break;
    }
    if (!holds) return false;
  }
  return true;
}

}  // namespace strongroom::api

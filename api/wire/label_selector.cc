#include "api/wire/label_selector.h"

#include <algorithm>

#include "api/wire/k8s_names.h"

namespace strongroom::api {
namespace {

using Operator = LabelSelector::Operator;
using Requirement = LabelSelector::Requirement;

constexpr std::size_t kMaxSelectorLength = 4096;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// IsDelimiter: the characters that end a key or a value. Anything else is read
// into the word and then refused by the label rules, so the error names it.
bool IsDelimiter(char c) {
  return IsSpace(c) || c == ',' || c == '(' || c == ')' || c == '=' || c == '!';
}

// SelectorParser reads one selector left to right, remembering the offset of
// every token so errors can point at it.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  StatusOr<std::vector<Requirement>> ParseAll() {
    std::vector<Requirement> requirements;
    SkipSpace();
    if (AtEnd()) return requirements;
    while (true) {
      SR_ASSIGN_OR_RETURN(Requirement requirement, ParseRequirement());
      requirements.push_back(std::move(requirement));
      SkipSpace();
      if (AtEnd()) return requirements;
      if (!Consume(",")) return std::unexpected(Error(pos_, "expected ',' or the end"));
    }
  }

 private:
  StatusOr<Requirement> ParseRequirement() {
    SkipSpace();
    Requirement requirement;
    if (Consume("!")) {
      SkipSpace();
      SR_ASSIGN_OR_RETURN(requirement.key, ParseKey());
      requirement.op = Operator::kDoesNotExist;
      return requirement;
    }
    SR_ASSIGN_OR_RETURN(requirement.key, ParseKey());
    SkipSpace();
    if (AtEnd() || text_[pos_] == ',') {
      requirement.op = Operator::kExists;
      return requirement;
    }
    if (Consume("!=")) {
      requirement.op = Operator::kNotEquals;
    } else if (Consume("==") || Consume("=")) {
      requirement.op = Operator::kEquals;
    } else {
      std::size_t start = pos_;
      std::string_view word = ReadWord();
      if (word != "in" && word != "notin") {
        return std::unexpected(Error(start, "expected one of =, ==, !=, in, notin"));
      }
      requirement.op = word == "in" ? Operator::kIn : Operator::kNotIn;
      SR_ASSIGN_OR_RETURN(requirement.values, ParseValueList());
      return requirement;
    }
    SkipSpace();
    SR_ASSIGN_OR_RETURN(std::string value, ParseValue());
    requirement.values.push_back(std::move(value));
    return requirement;
  }

  StatusOr<std::string> ParseKey() {
    std::size_t start = pos_;
    std::string_view key = ReadWord();
    if (key.empty()) return std::unexpected(Error(start, "expected a label key"));
    if (Status valid = ValidateLabelKey(key); !valid.ok()) {
      return std::unexpected(Error(start, valid.message()));
    }
    return std::string(key);
  }

  // ParseValue reads one value; an empty one (as in "key=") is allowed.
  StatusOr<std::string> ParseValue() {
    std::size_t start = pos_;
    std::string_view value = ReadWord();
    if (Status valid = ValidateLabelValue(value); !valid.ok()) {
      return std::unexpected(Error(start, valid.message()));
    }
    return std::string(value);
  }

  // ParseValueList reads "(v1, v2, ...)" with at least one non-empty value.
  StatusOr<std::vector<std::string>> ParseValueList() {
    SkipSpace();
    if (!Consume("(")) return std::unexpected(Error(pos_, "expected '(' after in/notin"));
    std::vector<std::string> values;
    while (true) {
      SkipSpace();
      std::size_t start = pos_;
      SR_ASSIGN_OR_RETURN(std::string value, ParseValue());
      if (value.empty()) return std::unexpected(Error(start, "expected a value in the list"));
      values.push_back(std::move(value));
      SkipSpace();
      if (Consume(")")) return values;
      if (!Consume(",")) return std::unexpected(Error(pos_, "expected ',' or ')'"));
    }
  }

  std::string_view ReadWord() {
    std::size_t start = pos_;
    while (!AtEnd() && !IsDelimiter(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }

  bool AtEnd() const { return pos_ >= text_.size(); }

  bool Consume(std::string_view token) {
    if (!text_.substr(pos_).starts_with(token)) return false;
    pos_ += token.size();
    return true;
  }

  static Status Error(std::size_t offset, std::string_view problem) {
    return Status::InvalidArgument("invalid labelSelector: " + std::string(problem) +
                                   " at offset " + std::to_string(offset));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

StatusOr<LabelSelector> LabelSelector::Parse(std::string_view text) {
  if (text.size() > kMaxSelectorLength) {
    return std::unexpected(Status::InvalidArgument("invalid labelSelector: longer than " +
                                                   std::to_string(kMaxSelectorLength) +
                                                   " characters"));
  }
  LabelSelector selector;
  SR_ASSIGN_OR_RETURN(selector.requirements_, SelectorParser(text).ParseAll());
  return selector;
}

bool LabelSelector::Matches(std::span<const std::pair<std::string, std::string>> labels) const {
  for (const Requirement& requirement : requirements_) {
    auto it = std::lower_bound(
        labels.begin(), labels.end(), requirement.key,
        [](const auto& label, const std::string& key) { return label.first < key; });
    const bool has_key = it != labels.end() && it->first == requirement.key;
    const bool value_listed =
        has_key && std::find(requirement.values.begin(), requirement.values.end(), it->second) !=
                       requirement.values.end();
    bool satisfied = false;
    switch (requirement.op) {
      case Operator::kEquals:
      case Operator::kIn:
        satisfied = value_listed;
        break;
      case Operator::kNotEquals:
      case Operator::kNotIn:
        satisfied = !value_listed;  // true also when the key is missing
        break;
      case Operator::kExists:
        satisfied = has_key;
        break;
      case Operator::kDoesNotExist:
        satisfied = !has_key;
        break;
    }
    if (!satisfied) return false;
  }
  return true;
}

}  // namespace strongroom::api

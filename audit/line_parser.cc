#include "audit/line_parser.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace strongroom::audit {
namespace {

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The hash-marker check both readers start with: the line ends in
// `,"hash":"<64 characters>"}`. npos when it does not.
std::size_t HashMarker(std::string_view line) {
  std::size_t marker = line.rfind(kHashMarker);
  if (marker == std::string_view::npos || line.size() != marker + kHashMarker.size() + 64 + 2 ||
      line.substr(line.size() - 2) != "\"}") {
    return std::string_view::npos;
  }
  return marker;
}

StatusOr<ParsedLine> NoHashAtTheEnd() {
  return std::unexpected(Status::IntegrityError("the line does not end with its hash"));
}

// DocumentFields reads members from nlohmann's document of the line.
class DocumentFields {
 public:
  explicit DocumentFields(const nlohmann::json& root) : root_(root) {}

  std::optional<std::uint64_t> Number(std::string_view key) const { return NumberIn(root_, key); }
  std::optional<std::string_view> Text(std::string_view key) const { return TextIn(root_, key); }
  bool IsObject(std::string_view key) const {
    auto it = root_.find(key);
    return it != root_.end() && it->is_object();
  }
  std::optional<std::uint64_t> Number(std::string_view outer, std::string_view key) const {
    auto it = root_.find(outer);
    if (it == root_.end() || !it->is_object()) return std::nullopt;
    return NumberIn(*it, key);
  }
  std::optional<std::string_view> Text(std::string_view outer, std::string_view key) const {
    auto it = root_.find(outer);
    if (it == root_.end() || !it->is_object()) return std::nullopt;
    return TextIn(*it, key);
  }

 private:
  static std::optional<std::uint64_t> NumberIn(const nlohmann::json& object, std::string_view key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<std::uint64_t>();
  }
  static std::optional<std::string_view> TextIn(const nlohmann::json& object,
                                                std::string_view key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return std::nullopt;
    return std::string_view(it->get_ref<const std::string&>());
  }

  const nlohmann::json& root_;
};

// FormattedFields reads the writer's subset of JSON in one pass (see
// line_parser.h) into a flat list of members, views into the line.
class FormattedFields {
 public:
  // Read is false when the line is outside the subset.
  bool Read(std::string_view line) {
    text_ = line;
    at_ = 0;
    members_.clear();
    return Object(kTop) && at_ == text_.size();
  }

  std::optional<std::uint64_t> Number(std::string_view key) const { return Number({}, key); }
  std::optional<std::string_view> Text(std::string_view key) const { return Text({}, key); }
  bool IsObject(std::string_view key) const {
    const Member* m = Last(kTop, key);
    return m != nullptr && m->kind == Kind::kObject;
  }
  std::optional<std::uint64_t> Number(std::string_view outer, std::string_view key) const {
    const Member* m = Find(outer, key);
    if (m == nullptr || m->kind != Kind::kNumber) return std::nullopt;
    return m->number;
  }
  std::optional<std::string_view> Text(std::string_view outer, std::string_view key) const {
    const Member* m = Find(outer, key);
    if (m == nullptr || m->kind != Kind::kText) return std::nullopt;
    return m->text;
  }

 private:
  enum class Kind { kText, kNumber, kObject };
  static constexpr std::size_t kTop = SIZE_MAX;
  struct Member {
    std::size_t parent;  // index of the object member it is in; kTop for the line's own
    std::string_view key;
    Kind kind;
    std::string_view text;
    std::uint64_t number = 0;
  };

  // Find returns the member the document would hold: the last of a
  // repeated key, and for a nested one, in the last value of its outer key
  // (an earlier object value of a repeated key is gone with its members).
  const Member* Find(std::string_view outer, std::string_view key) const {
    std::size_t parent = kTop;
    if (!outer.empty()) {
      const Member* object = Last(kTop, outer);
      if (object == nullptr || object->kind != Kind::kObject) return nullptr;
      parent = static_cast<std::size_t>(object - members_.data());
    }
    return Last(parent, key);
  }

  const Member* Last(std::size_t parent, std::string_view key) const {
    for (std::size_t i = members_.size(); i-- > 0;) {
      const Member& m = members_[i];
      if (m.parent == parent && m.key == key) return &m;
    }
    return nullptr;
  }

  bool Peek(char c) const { return at_ < text_.size() && text_[at_] == c; }

  bool Take(char c) {
    if (!Peek(c)) return false;
    ++at_;
    return true;
  }

  // String reads "..." of printable ASCII without '\\'.
  bool String(std::string_view* out) {
    if (!Take('"')) return false;
    std::size_t end = text_.find('"', at_);
    if (end == std::string_view::npos) return false;
    bool outside = false;  // one pass the compiler can vectorise, no early exit
    for (std::size_t i = at_; i < end; ++i) {
      unsigned char c = static_cast<unsigned char>(text_[i]);
      outside |= (c < 0x20) | (c > 0x7e) | (c == '\\');
    }
    if (outside) return false;
    *out = text_.substr(at_, end - at_);
    at_ = end + 1;
    return true;
  }

  // Unsigned reads an integer JSON calls unsigned and uint64 holds: no sign,
  // no leading zero, no fraction or exponent.
  bool Unsigned(std::uint64_t* out) {
    std::size_t start = at_;
    std::uint64_t value = 0;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
      std::uint64_t digit = static_cast<std::uint64_t>(text_[at_] - '0');
      if (value > (UINT64_MAX - digit) / 10) return false;
      value = value * 10 + digit;
      ++at_;
    }
    if (at_ == start || (text_[start] == '0' && at_ - start > 1)) return false;
    if (Peek('.') || Peek('e') || Peek('E')) return false;
    *out = value;
    return true;
  }

  // Object reads {...}: the line itself (parent kTop) or one nested level.
  bool Object(std::size_t parent) {
    if (!Take('{')) return false;
    if (Take('}')) return true;
    do {
      Member m{parent, {}, Kind::kText, {}, 0};
      // An empty key never comes from the writer.
      if (!String(&m.key) || m.key.empty() || !Take(':')) return false;
      if (Peek('"')) {
        if (!String(&m.text)) return false;
      } else if (Peek('{')) {
        if (parent != kTop) return false;  // deeper than the format goes
        m.kind = Kind::kObject;
        members_.push_back(m);
        if (!Object(members_.size() - 1)) return false;
        continue;
      } else {
        m.kind = Kind::kNumber;
        if (!Unsigned(&m.number)) return false;
      }
      members_.push_back(m);
    } while (Take(','));
    return Take('}');
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::vector<Member> members_;
};

std::string Owned(std::optional<std::string_view> text) {
  return text ? std::string(*text) : std::string();
}

// Check applies the record format's rules to a line's members, whichever
// reader found them; `marker` is where its hash marker starts.
template <typename Fields>
StatusOr<ParsedLine> Check(const Fields& fields, std::string_view line, std::size_t marker) {
  ParsedLine out;
  out.hash = std::string(line.substr(marker + kHashMarker.size(), 64));
  auto seq = fields.Number("seq");
  auto prev = fields.Text("prev");
  auto hash = fields.Text("hash");
  auto type = fields.Text("type");
  auto time = fields.Text("time");
  if (!seq || !prev || !hash || !type || !time || !IsLowerHex64(*prev) || !IsLowerHex64(out.hash) ||
      *hash != out.hash) {
    return std::unexpected(Status::IntegrityError("the line lacks seq, time, type, prev or hash"));
  }
  out.seq = *seq;
  out.prev = std::string(*prev);
  out.time = std::string(*time);
  if (ChainHash(out.prev, line.substr(0, marker)) != out.hash) {
    return std::unexpected(Status::IntegrityError("the hash does not match the line's contents"));
  }
  if (*type == "event") {
    out.type = RecordType::kEvent;
  } else if (*type == "checkpoint") {
    out.type = RecordType::kCheckpoint;
  } else if (*type == "not-committed") {
    out.type = RecordType::kNotCommitted;
  } else if (*type == "outcome-unknown") {
    out.type = RecordType::kOutcomeUnknown;
  } else {
    return std::unexpected(Status::IntegrityError("unknown record type"));
  }
  out.node = Owned(fields.Text("node"));
  out.action = Owned(fields.Text("action"));
  out.actor_kind = Owned(fields.Text("actor", "kind"));
  out.actor_name = Owned(fields.Text("actor", "name"));
  out.namespace_name = Owned(fields.Text("resource", "namespace"));
  out.outcome = Owned(fields.Text("outcome", "result"));
  out.request_id = Owned(fields.Text("request_id"));
  out.resource_version = fields.Number("resource_version");
  out.refers_to = fields.Number("refers_to");
  out.count = fields.Number("count");
  out.key_sha256 = Owned(fields.Text("details", "key_sha256"));
  if (out.type == RecordType::kCheckpoint) {
    if (!fields.IsObject("checkpoint")) {
      return std::unexpected(Status::IntegrityError("a checkpoint without its body"));
    }
    auto head_seq = fields.Number("checkpoint", "head_seq");
    auto head_hash = fields.Text("checkpoint", "head_hash");
    auto version = fields.Number("checkpoint", "resource_version");
    auto digest = fields.Text("checkpoint", "store_digest");
    auto key = fields.Text("checkpoint", "key_sha256");
    auto signature = fields.Text("checkpoint", "signature");
    if (!head_seq || !head_hash || !version || !digest || !key || !signature) {
      return std::unexpected(Status::IntegrityError("a checkpoint lacks a member"));
    }
    CheckpointBody body;
    body.head_seq = *head_seq;
    body.head_hash = std::string(*head_hash);
    body.resource_version = *version;
    body.store_digest = std::string(*digest);
    body.key_sha256 = std::string(*key);
    body.signature = std::string(*signature);
    out.checkpoint = std::move(body);
  }
  return out;
}

}  // namespace

StatusOr<ParsedLine> ParseLineGeneral(std::string_view line) {
  std::size_t marker = HashMarker(line);
  if (marker == std::string_view::npos) return NoHashAtTheEnd();
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    return std::unexpected(Status::IntegrityError("the line is not valid JSON"));
  }
  if (!object.is_object())
    return std::unexpected(Status::IntegrityError("the line is not a JSON object"));
  return Check(DocumentFields(object), line, marker);
}

std::optional<StatusOr<ParsedLine>> ParseFormattedLine(std::string_view line) {
  std::size_t marker = HashMarker(line);
  if (marker == std::string_view::npos) return NoHashAtTheEnd();
  thread_local FormattedFields fields;  // keeps its member list's capacity
  if (!fields.Read(line)) return std::nullopt;
  return Check(fields, line, marker);
}

StatusOr<ParsedLine> ParseLine(std::string_view line) {
  if (std::optional<StatusOr<ParsedLine>> formatted = ParseFormattedLine(line)) {
    return std::move(*formatted);
  }
  return ParseLineGeneral(line);
}

}  // namespace strongroom::audit

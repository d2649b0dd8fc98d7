#include "audit/record.h"

#include <openssl/evp.h>

#include <charconv>

#include "audit/line_parser.h"
#include "base/json_text.h"
#include "base/openssl_ptr.h"

namespace strongroom::audit {
namespace {

std::string_view TypeName(RecordType type) {
  switch (type) {
    case RecordType::kEvent:
      return "event";
    case RecordType::kCheckpoint:
      return "checkpoint";
    case RecordType::kNotCommitted:
      return "not-committed";
    case RecordType::kOutcomeUnknown:
      return "outcome-unknown";
  }
  return "event";
}

// LineWriter appends a compact JSON object's members in the order given;
// the record format is fixed (record.h), so no document is built.
class LineWriter {
 public:
  // `continuing`: `out` already holds members of the open object, so the
  // first key is preceded by a comma.
  explicit LineWriter(std::string& out, bool continuing = false) : out_(out), first_(!continuing) {}
  void Open() {
    out_.push_back('{');
    first_ = true;
  }
  void Close() {
    out_.push_back('}');
    first_ = false;
  }
  void Key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_.push_back(':');
  }
  void Text(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
  }
  void TextIfSet(std::string_view key, std::string_view value) {
    if (!value.empty()) Text(key, value);
  }
  void Number(std::string_view key, std::uint64_t value) {
    Key(key);
    char digits[24];
    auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, end);
  }
  // Object opens a nested object as the value of `key`.
  void Object(std::string_view key) {
    Key(key);
    Open();
  }

 private:
  std::string& out_;
  bool first_;
};

void AppendEventMembers(LineWriter& line, const Event& event) {
  line.Text("action", event.action);
  line.Object("actor");
  line.TextIfSet("kind", event.actor.kind);
  line.TextIfSet("name", event.actor.name);
  line.TextIfSet("token_id", event.actor.token_id);
  line.TextIfSet("certificate_sha256", event.actor.certificate_sha256);
  line.TextIfSet("address", event.actor.address);
  line.Close();
  const Resource& resource = event.resource;
  if (!resource.namespace_name.empty() || !resource.kind.empty() || !resource.name.empty()) {
    line.Object("resource");
    line.TextIfSet("namespace", resource.namespace_name);
    line.TextIfSet("kind", resource.kind);
    line.TextIfSet("name", resource.name);
    line.Close();
  }
  line.Object("outcome");
  line.Text("result", OutcomeName(event.outcome));
  if (event.http_status != 0) line.Number("status", static_cast<std::uint64_t>(event.http_status));
  line.TextIfSet("reason", event.reason);
  line.Close();
  line.TextIfSet("request_id", event.request_id);
  if (event.resource_version) line.Number("resource_version", *event.resource_version);
  if (event.count > 0) line.Number("count", event.count);
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kDenied:
      return "denied";
    case Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

std::string CheckpointMessage(const CheckpointBody& body) {
  return "strongroom-audit-checkpoint-v1\n" + std::to_string(body.head_seq) + "\n" +
         body.head_hash + "\n" + std::to_string(body.resource_version) + "\n" + body.store_digest +
         "\n";
}

Status FollowNode(std::string& chain_node, std::string_view line_node) {
  if (line_node == chain_node) return Status::Ok();
  if (chain_node.empty()) {
    chain_node = std::string(line_node);
    return Status::Ok();
  }
  if (line_node.empty()) {
    return Status::IntegrityError("the record names no node, but the log is node \"" + chain_node +
                                  "\"'s");
  }
  return Status::IntegrityError("the record names node \"" + std::string(line_node) +
                                "\", but the log is node \"" + chain_node +
                                "\"'s (one log is one node's chain)");
}

std::string ChainHash(std::string_view prev, std::string_view body) {
  // Fetched once: EVP_sha256() would look the digest up on every call
  // (OpenSSL 3), and this runs once per audit record.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const EvpMdCtxPtr context(EVP_MD_CTX_new());
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (sha256 == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), prev.data(), prev.size()) != 1 ||
      EVP_DigestUpdate(context.get(), body.data(), body.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
    return std::string();  // never matches a 64-hex hash: fails closed
  }
  return HexEncode(ByteSpan(digest, length));
}

namespace {

void AppendDetails(LineWriter& line, const Event& event) {
  if (event.details.empty()) return;
  line.Object("details");
  for (const auto& [key, value] : event.details) line.Text(key, value);
  line.Close();
}

// Head opens a line: {"seq":N,"time":"T","type":"..."
void AppendHead(LineWriter& line, std::uint64_t seq, std::string_view time, RecordType type,
                std::string_view node) {
  line.Open();
  line.Number("seq", seq);
  line.Text("time", time);
  line.Text("type", TypeName(type));
  line.TextIfSet("node", node);
}

// Finish adds prev, then the hash of everything before it, and the end.
std::string Finish(std::string& text, std::string_view prev, std::string* hash) {
  LineWriter(text, true).Text("prev", prev);
  *hash = ChainHash(prev, text);
  text.append(kHashMarker);
  text.append(*hash);
  text.append("\"}\n");
  return std::move(text);
}

}  // namespace

std::string EncodeEventBody(const Event& event) {
  std::string body;
  body.reserve(512);
  LineWriter line(body, true);
  AppendEventMembers(line, event);
  AppendDetails(line, event);
  return body;
}

std::string EncodeEventLine(std::uint64_t seq, std::string_view time, std::string_view body,
                            std::string_view prev, std::string* hash, std::string_view node) {
  std::string text;
  text.reserve(body.size() + 320);
  LineWriter line(text);
  AppendHead(line, seq, time, RecordType::kEvent, node);
  text.append(body);
  return Finish(text, prev, hash);
}

std::string EncodeLine(std::uint64_t seq, std::string_view time, RecordType type,
                       const Event* event, const CheckpointBody* checkpoint,
                       std::optional<std::uint64_t> refers_to, std::string_view prev,
                       std::string* hash, std::string_view node) {
  std::string text;
  text.reserve(1024);  // a decrypt record is about 600 bytes: one allocation
  LineWriter line(text);
  AppendHead(line, seq, time, type, node);
  if (event != nullptr) AppendEventMembers(line, *event);
  if (refers_to) line.Number("refers_to", *refers_to);
  if (event != nullptr) AppendDetails(line, *event);
  if (checkpoint != nullptr) {
    line.Object("checkpoint");
    line.Number("head_seq", checkpoint->head_seq);
    line.Text("head_hash", checkpoint->head_hash);
    line.Number("resource_version", checkpoint->resource_version);
    line.Text("store_digest", checkpoint->store_digest);
    line.Text("key_sha256", checkpoint->key_sha256);
    line.Text("signature", checkpoint->signature);
    line.Close();
  }
  // The closing '}' comes after the hash, which covers the bytes so far.
  return Finish(text, prev, hash);
}

}  // namespace strongroom::audit

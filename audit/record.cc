#include "audit/record.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace strongroom::audit {
namespace {

using Json = nlohmann::ordered_json;
constexpr std::string_view kHashMarker = ",\"hash\":\"";

std::string_view TypeName(RecordType type) {
  switch (type) {
    case RecordType::kEvent:
      return "event";
    case RecordType::kCheckpoint:
      return "checkpoint";
    case RecordType::kNotCommitted:
      return "not-committed";
  }
  return "event";
}

void PutIfSet(Json& object, const char* key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

Json EventMembers(const Event& event) {
  Json out = Json::object();
  out["action"] = event.action;
  Json actor = Json::object();
  PutIfSet(actor, "kind", event.actor.kind);
  PutIfSet(actor, "name", event.actor.name);
  PutIfSet(actor, "token_id", event.actor.token_id);
  PutIfSet(actor, "certificate_sha256", event.actor.certificate_sha256);
  PutIfSet(actor, "address", event.actor.address);
  out["actor"] = std::move(actor);
  Json resource = Json::object();
  PutIfSet(resource, "namespace", event.resource.namespace_name);
  PutIfSet(resource, "kind", event.resource.kind);
  PutIfSet(resource, "name", event.resource.name);
  if (!resource.empty()) out["resource"] = std::move(resource);
  Json outcome = Json::object();
  outcome["result"] = OutcomeName(event.outcome);
  if (event.http_status != 0) outcome["status"] = event.http_status;
  PutIfSet(outcome, "reason", event.reason);
  out["outcome"] = std::move(outcome);
  PutIfSet(out, "request_id", event.request_id);
  if (event.resource_version) out["resource_version"] = *event.resource_version;
  if (event.count > 0) out["count"] = event.count;
  return out;
}

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

template <typename T>
std::optional<T> Member(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return std::nullopt;
  } else {
    if (!it->is_number_unsigned()) return std::nullopt;
  }
  return it->get<T>();
}

std::string Text(const nlohmann::json& object, const char* outer, const char* inner) {
  auto it = object.find(outer);
  if (it == object.end() || !it->is_object()) return "";
  return Member<std::string>(*it, inner).value_or("");
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

std::string ChainHash(std::string_view prev, std::string_view body) {
  // One buffer, one EVP_Digest: no context to leak on an error path.
  std::string input;
  input.reserve(prev.size() + body.size());
  input.append(prev).append(body);
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();  // never matches a 64-hex hash: fails closed
  }
  return HexEncode(ByteSpan(digest, length));
}

std::string EncodeLine(std::uint64_t seq, std::string_view time, RecordType type,
                       const Event* event, const CheckpointBody* checkpoint,
                       std::optional<std::uint64_t> refers_to, std::string_view prev,
                       std::string* hash) {
  Json record = Json::object();
  record["seq"] = seq;
  record["time"] = std::string(time);
  record["type"] = TypeName(type);
  if (event != nullptr) {
    Json members = EventMembers(*event);
    for (auto& [key, value] : members.items()) record[key] = std::move(value);
  }
  if (refers_to) record["refers_to"] = *refers_to;
  if (event != nullptr && !event->details.empty()) {
    Json details = Json::object();
    for (const auto& [key, value] : event->details) details[key] = value;
    record["details"] = std::move(details);
  }
  if (checkpoint != nullptr) {
    Json body = Json::object();
    body["head_seq"] = checkpoint->head_seq;
    body["head_hash"] = checkpoint->head_hash;
    body["resource_version"] = checkpoint->resource_version;
    body["store_digest"] = checkpoint->store_digest;
    body["key_sha256"] = checkpoint->key_sha256;
    body["signature"] = checkpoint->signature;
    record["checkpoint"] = std::move(body);
  }
  record["prev"] = std::string(prev);
  // Invalid UTF-8 (an odd certificate subject) is replaced, never thrown.
  std::string text = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.pop_back();  // the closing '}'
  *hash = ChainHash(prev, text);
  text.append(kHashMarker);
  text.append(*hash);
  text.append("\"}\n");
  return text;
}

StatusOr<ParsedLine> ParseLine(std::string_view line) {
  std::size_t marker = line.rfind(kHashMarker);
  if (marker == std::string_view::npos || line.size() != marker + kHashMarker.size() + 64 + 2 ||
      line.substr(line.size() - 2) != "\"}") {
    return std::unexpected(Status::IntegrityError("the line does not end with its hash"));
  }
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    return std::unexpected(Status::IntegrityError("the line is not valid JSON"));
  }
  if (!object.is_object())
    return std::unexpected(Status::IntegrityError("the line is not a JSON object"));
  ParsedLine out;
  out.hash = std::string(line.substr(marker + kHashMarker.size(), 64));
  auto seq = Member<std::uint64_t>(object, "seq");
  auto prev = Member<std::string>(object, "prev");
  auto hash = Member<std::string>(object, "hash");
  auto type = Member<std::string>(object, "type");
  auto time = Member<std::string>(object, "time");
  if (!seq || !prev || !hash || !type || !time || !IsLowerHex64(*prev) || !IsLowerHex64(out.hash) ||
      *hash != out.hash) {
    return std::unexpected(Status::IntegrityError("the line lacks seq, time, type, prev or hash"));
  }
  out.seq = *seq;
  out.prev = *prev;
  out.time = *time;
  if (ChainHash(out.prev, line.substr(0, marker)) != out.hash) {
    return std::unexpected(Status::IntegrityError("the hash does not match the line's contents"));
  }
  if (*type == "event") {
    out.type = RecordType::kEvent;
  } else if (*type == "checkpoint") {
    out.type = RecordType::kCheckpoint;
  } else if (*type == "not-committed") {
    out.type = RecordType::kNotCommitted;
  } else {
    return std::unexpected(Status::IntegrityError("unknown record type"));
  }
  out.action = Member<std::string>(object, "action").value_or("");
  out.actor_kind = Text(object, "actor", "kind");
  out.actor_name = Text(object, "actor", "name");
  out.namespace_name = Text(object, "resource", "namespace");
  out.outcome = Text(object, "outcome", "result");
  out.request_id = Member<std::string>(object, "request_id").value_or("");
  out.resource_version = Member<std::uint64_t>(object, "resource_version");
  out.refers_to = Member<std::uint64_t>(object, "refers_to");
  out.key_sha256 = Text(object, "details", "key_sha256");
  if (out.type == RecordType::kCheckpoint) {
    auto it = object.find("checkpoint");
    if (it == object.end() || !it->is_object()) {
      return std::unexpected(Status::IntegrityError("a checkpoint without its body"));
    }
    CheckpointBody body;
    auto head_seq = Member<std::uint64_t>(*it, "head_seq");
    auto head_hash = Member<std::string>(*it, "head_hash");
    auto version = Member<std::uint64_t>(*it, "resource_version");
    auto digest = Member<std::string>(*it, "store_digest");
    auto key = Member<std::string>(*it, "key_sha256");
    auto signature = Member<std::string>(*it, "signature");
    if (!head_seq || !head_hash || !version || !digest || !key || !signature) {
      return std::unexpected(Status::IntegrityError("a checkpoint lacks a member"));
    }
    body.head_seq = *head_seq;
    body.head_hash = *head_hash;
    body.resource_version = *version;
    body.store_digest = *digest;
    body.key_sha256 = *key;
    body.signature = *signature;
    out.checkpoint = std::move(body);
  }
  return out;
}

}  // namespace strongroom::audit

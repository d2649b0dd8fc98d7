#include "cluster/etcd_json.h"

#include <openssl/evp.h>

#include <charconv>
#include <stdexcept>

namespace strongroom::cluster::json_wire {

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("base64 length not a multiple of 4");
  std::string out(3 * (text.size() / 4), '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) throw std::invalid_argument("not base64");
  // EVP_DecodeBlock counts the padding as zero bytes of output.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

namespace {

template <typename Integer>
Integer IntegerField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<Integer>();
  const std::string& text = it->get_ref<const std::string&>();
  Integer value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument(std::string("field ") + name + " is not an integer");
  }
  return value;
}

std::string BytesField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  return Base64Decode(it->get_ref<const std::string&>());
}

bool BoolField(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const char* TargetName(Compare::Target target) {
  switch (target) {
    case Compare::Target::kVersion: return "VERSION";
    case Compare::Target::kCreateRevision: return "CREATE";
    case Compare::Target::kModRevision: return "MOD";
    case Compare::Target::kValue: return "VALUE";
    case Compare::Target::kLease: return "LEASE";
  }
  return "MOD";
}

const char* ResultName(Compare::Result result) {
  switch (result) {
    case Compare::Result::kEqual: return "EQUAL";
    case Compare::Result::kGreater: return "GREATER";
    case Compare::Result::kLess: return "LESS";
    case Compare::Result::kNotEqual: return "NOT_EQUAL";
  }
  return "EQUAL";
}

Json EncodeCompare(const Compare& compare) {
  Json out = {{"result", ResultName(compare.result)},
              {"target", TargetName(compare.target)},
              {"key", Base64Encode(compare.key)}};
  const std::string number = std::to_string(compare.number);
  switch (compare.target) {
    case Compare::Target::kVersion: out["version"] = number; break;
    case Compare::Target::kCreateRevision: out["create_revision"] = number; break;
    case Compare::Target::kModRevision: out["mod_revision"] = number; break;
    case Compare::Target::kValue: out["value"] = Base64Encode(compare.value); break;
    case Compare::Target::kLease: out["lease"] = number; break;
  }
  return out;
}

Json EncodeOp(const TxnOp& op) {
  if (const auto* range = std::get_if<RangeRequest>(&op)) return {{"request_range", EncodeRange(*range)}};
  if (const auto* put = std::get_if<PutRequest>(&op)) return {{"request_put", EncodePut(*put)}};
  return {{"request_delete_range", EncodeDelete(std::get<DeleteRequest>(op))}};
}

Json EncodeOps(const std::vector<TxnOp>& ops) {
  Json out = Json::array();
  for (const TxnOp& op : ops) out.push_back(EncodeOp(op));
  return out;
}

}  // namespace

std::int64_t Int64Field(const Json& object, const char* name) {
  return IntegerField<std::int64_t>(object, name);
}
std::uint64_t Uint64Field(const Json& object, const char* name) {
  return IntegerField<std::uint64_t>(object, name);
}

Json EncodeRange(const RangeRequest& request) {
  Json out = {{"key", Base64Encode(request.key)}};
  if (!request.range_end.empty()) out["range_end"] = Base64Encode(request.range_end);
  if (request.limit != 0) out["limit"] = std::to_string(request.limit);
  if (request.revision != 0) out["revision"] = std::to_string(request.revision);
  if (request.keys_only) out["keys_only"] = true;
  if (request.count_only) out["count_only"] = true;
  if (request.serializable) out["serializable"] = true;
  return out;
}

Json EncodePut(const PutRequest& request) {
  Json out = {{"key", Base64Encode(request.key)}, {"value", Base64Encode(request.value)}};
  if (request.lease != 0) out["lease"] = std::to_string(request.lease);
  if (request.prev_kv) out["prev_kv"] = true;
  return out;
}

Json EncodeDelete(const DeleteRequest& request) {
  Json out = {{"key", Base64Encode(request.key)}};
  if (!request.range_end.empty()) out["range_end"] = Base64Encode(request.range_end);
  if (request.prev_kv) out["prev_kv"] = true;
  return out;
}

Json EncodeTxn(const TxnRequest& request) {
  Json compare = Json::array();
  for (const Compare& c : request.compare) compare.push_back(EncodeCompare(c));
  return {{"compare", compare},
          {"success", EncodeOps(request.success)},
          {"failure", EncodeOps(request.failure)}};
}

ResponseHeader DecodeHeader(const Json& object) {
  ResponseHeader header;
  auto it = object.find("header");
  if (it == object.end()) return header;
  header.cluster_id = Uint64Field(*it, "cluster_id");
  header.member_id = Uint64Field(*it, "member_id");
  header.revision = Int64Field(*it, "revision");
  header.raft_term = Uint64Field(*it, "raft_term");
  return header;
}

KeyValue DecodeKeyValue(const Json& kv) {
  return KeyValue{.key = BytesField(kv, "key"),
                  .value = BytesField(kv, "value"),
                  .create_revision = Int64Field(kv, "create_revision"),
                  .mod_revision = Int64Field(kv, "mod_revision"),
                  .version = Int64Field(kv, "version"),
                  .lease = Int64Field(kv, "lease")};
}

RangeResult DecodeRange(const Json& answer) {
  RangeResult result{.header = DecodeHeader(answer)};
  if (auto it = answer.find("kvs"); it != answer.end()) {
    for (const Json& kv : *it) result.kvs.push_back(DecodeKeyValue(kv));
  }
  result.more = BoolField(answer, "more");
  result.count = Int64Field(answer, "count");
  return result;
}

PutResult DecodePut(const Json& answer) {
  PutResult result{.header = DecodeHeader(answer)};
  if (auto it = answer.find("prev_kv"); it != answer.end()) result.prev_kv = DecodeKeyValue(*it);
  return result;
}

DeleteResult DecodeDelete(const Json& answer) {
  DeleteResult result{.header = DecodeHeader(answer)};
  result.deleted = Int64Field(answer, "deleted");
  if (auto it = answer.find("prev_kvs"); it != answer.end()) {
    for (const Json& kv : *it) result.prev_kvs.push_back(DecodeKeyValue(kv));
  }
  return result;
}

TxnResult DecodeTxn(const Json& answer) {
  TxnResult result{.header = DecodeHeader(answer)};
  result.succeeded = BoolField(answer, "succeeded");
  if (auto it = answer.find("responses"); it != answer.end()) {
    for (const Json& op : *it) {
      if (auto r = op.find("response_range"); r != op.end()) {
        result.responses.emplace_back(DecodeRange(*r));
      } else if (auto p = op.find("response_put"); p != op.end()) {
        result.responses.emplace_back(DecodePut(*p));
      } else if (auto d = op.find("response_delete_range"); d != op.end()) {
        result.responses.emplace_back(DecodeDelete(*d));
      } else {
        throw std::invalid_argument("txn response of an unknown kind");
      }
    }
  }
  return result;
}

Lease DecodeLease(const Json& answer) {
  return Lease{.header = DecodeHeader(answer),
               .id = Int64Field(answer, "ID"),
               .ttl_seconds = Int64Field(answer, "TTL")};
}

MemberStatus DecodeMemberStatus(const Json& answer) {
  MemberStatus status{.header = DecodeHeader(answer)};
  status.leader = Uint64Field(answer, "leader");
  if (auto it = answer.find("version"); it != answer.end()) status.version = it->get<std::string>();
  status.db_size = Int64Field(answer, "dbSize");
  status.raft_index = Uint64Field(answer, "raftIndex");
  status.raft_term = Uint64Field(answer, "raftTerm");
  return status;
}

WatchEvent DecodeWatchEvent(const Json& event) {
  WatchEvent out;
  // PUT is the enum's zero value, which the gateway leaves out.
  auto type = event.find("type");
  if (type != event.end() && type->is_string() && type->get<std::string>() == "DELETE") {
    out.type = WatchEvent::Type::kDelete;
  } else if (type != event.end() && !(type->is_string() && type->get<std::string>() == "PUT")) {
    throw std::invalid_argument("watch event of an unknown type");
  }
  if (auto kv = event.find("kv"); kv != event.end()) out.kv = DecodeKeyValue(*kv);
  return out;
}

}  // namespace strongroom::cluster::json_wire

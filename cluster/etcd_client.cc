#include "cluster/etcd_client.h"

#include <stdexcept>
#include <utility>

#include "cluster/etcd_http.h"
#include "cluster/etcd_json.h"

namespace strongroom::cluster {
namespace {

using json_wire::Json;

// Decode parses a 200 answer with `decode`; a malformed answer is kInternal
// (json exceptions stop here, at the module's edge).
template <typename Decoder>
auto Decode(const std::string& answer, std::string_view what, Decoder decode)
    -> StatusOr<decltype(decode(std::declval<const Json&>()))> {
  try {
    const Json parsed = Json::parse(answer);
    if (!parsed.is_object()) throw std::invalid_argument("not a JSON object");
    return decode(parsed);
  } catch (const std::exception& e) {
    return std::unexpected(
        Status::Internal("etcd's answer to " + std::string(what) + " is malformed: " + e.what()));
  }
}

}  // namespace

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Compare Compare::KeyMissing(std::string key) {
  return Compare{.target = Target::kCreateRevision, .result = Result::kEqual,
                 .key = std::move(key), .number = 0};
}
Compare Compare::ModRevisionIs(std::string key, std::int64_t revision) {
  return Compare{.target = Target::kModRevision, .result = Result::kEqual,
                 .key = std::move(key), .number = revision};
}
Compare Compare::ValueIs(std::string key, std::string value) {
  return Compare{.target = Target::kValue, .result = Result::kEqual, .key = std::move(key),
                 .value = std::move(value)};
}
Compare Compare::LeaseIs(std::string key, std::int64_t lease) {
  return Compare{.target = Target::kLease, .result = Result::kEqual, .key = std::move(key),
                 .number = lease};
}

EtcdClient::EtcdClient(EtcdClientOptions options, std::unique_ptr<EtcdHttp> http)
    : options_(std::move(options)), http_(std::move(http)) {}

EtcdClient::~EtcdClient() = default;

StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdClientOptions options) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<EtcdHttp> http, EtcdHttp::Create(options));
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(options), std::move(http)));
}

StatusOr<RangeResult> EtcdClient::Range(const RangeRequest& request) {
  SR_ASSIGN_OR_RETURN(std::string answer, http_->Post("/v3/kv/range",
                                                      json_wire::EncodeRange(request).dump(),
                                                      Resend::kAlways));
  return Decode(answer, "range", json_wire::DecodeRange);
}

StatusOr<PutResult> EtcdClient::Put(const PutRequest& request) {
  SR_ASSIGN_OR_RETURN(std::string answer, http_->Post("/v3/kv/put",
                                                      json_wire::EncodePut(request).dump(),
                                                      Resend::kIfNotSent));
  return Decode(answer, "put", json_wire::DecodePut);
}

StatusOr<DeleteResult> EtcdClient::Delete(const DeleteRequest& request) {
  SR_ASSIGN_OR_RETURN(std::string answer, http_->Post("/v3/kv/deleterange",
                                                      json_wire::EncodeDelete(request).dump(),
                                                      Resend::kIfNotSent));
  return Decode(answer, "delete", json_wire::DecodeDelete);
}

StatusOr<TxnResult> EtcdClient::Txn(const TxnRequest& request) {
  SR_ASSIGN_OR_RETURN(std::string answer, http_->Post("/v3/kv/txn",
                                                      json_wire::EncodeTxn(request).dump(),
                                                      Resend::kIfNotSent));
  return Decode(answer, "txn", json_wire::DecodeTxn);
}

Status EtcdClient::Compact(std::int64_t revision) {
  const Json body = {{"revision", std::to_string(revision)}, {"physical", true}};
  SR_RETURN_IF_ERROR(http_->Post("/v3/kv/compaction", body.dump(), Resend::kIfNotSent));
  return Status::Ok();
}

StatusOr<Lease> EtcdClient::LeaseGrant(std::int64_t ttl_seconds) {
  const Json body = {{"TTL", std::to_string(ttl_seconds)}};
  SR_ASSIGN_OR_RETURN(std::string answer,
                      http_->Post("/v3/lease/grant", body.dump(), Resend::kIfNotSent));
  SR_ASSIGN_OR_RETURN(Lease lease, Decode(answer, "lease grant", json_wire::DecodeLease));
  if (lease.id == 0) return std::unexpected(Status::Internal("etcd granted lease id 0"));
  return lease;
}

StatusOr<Lease> EtcdClient::LeaseKeepAlive(std::int64_t id) {
  // The gateway carries the keep-alive stream over one POST: one request in,
  // one {"result": ...} out, then the stream ends.
  const Json body = {{"ID", std::to_string(id)}};
  SR_ASSIGN_OR_RETURN(std::string answer,
                      http_->Post("/v3/lease/keepalive", body.dump(), Resend::kAlways));
  // A stream that fails after it started answers 200 with {"error": {...}}.
  const Json parsed = Json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error")) {
    return std::unexpected(ErrorFromAnswer(200, answer, "the cluster"));
  }
  SR_ASSIGN_OR_RETURN(Lease lease, Decode(answer, "lease keep-alive", [](const Json& object) {
                        return json_wire::DecodeLease(object.at("result"));
                      }));
  // etcd answers a keep-alive of an expired lease with TTL 0.
  if (lease.ttl_seconds <= 0) {
    return std::unexpected(Status::NotFound("etcd lease " + std::to_string(id) + " has expired"));
  }
  return lease;
}

Status EtcdClient::LeaseRevoke(std::int64_t id) {
  const Json body = {{"ID", std::to_string(id)}};
  SR_RETURN_IF_ERROR(http_->Post("/v3/lease/revoke", body.dump(), Resend::kIfNotSent));
  return Status::Ok();
}

StatusOr<MemberStatus> EtcdClient::GetMemberStatus(const std::string& endpoint) {
  SR_ASSIGN_OR_RETURN(std::string answer, http_->PostTo(endpoint, "/v3/maintenance/status", "{}"));
  return Decode(answer, "status", json_wire::DecodeMemberStatus);
}

}  // namespace strongroom::cluster

// cluster/etcd_json.h — private to cluster/: the JSON shapes of etcd's
// gateway (grpc-gateway over the v3 protobuf messages): keys and values are
// base64, int64 and uint64 fields are decimal strings, fields at their zero
// value (0, false, "", the first enum value) are left out of answers.
//
// The Decode* functions throw nlohmann::json exceptions or
// std::invalid_argument on a malformed answer; EtcdClient and EtcdWatch catch
// them at their edge and answer kInternal (STYLE: exceptions stay inside the
// module whose library throws them). Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "cluster/etcd_types.h"

namespace strongroom::cluster::json_wire {

using Json = nlohmann::json;

std::string Base64Encode(std::string_view bytes);
// Base64Decode throws std::invalid_argument on text that is not base64.
std::string Base64Decode(std::string_view text);

Json EncodeRange(const RangeRequest& request);
Json EncodePut(const PutRequest& request);
Json EncodeDelete(const DeleteRequest& request);
Json EncodeTxn(const TxnRequest& request);

// Int64Field / Uint64Field read an integer member sent as a decimal string
// (or a number); an absent member is 0.
std::int64_t Int64Field(const Json& object, const char* name);
std::uint64_t Uint64Field(const Json& object, const char* name);

ResponseHeader DecodeHeader(const Json& object);  // the object holding "header"
KeyValue DecodeKeyValue(const Json& kv);
RangeResult DecodeRange(const Json& answer);
PutResult DecodePut(const Json& answer);
DeleteResult DecodeDelete(const Json& answer);
TxnResult DecodeTxn(const Json& answer);
Lease DecodeLease(const Json& answer);
MemberStatus DecodeMemberStatus(const Json& answer);
WatchEvent DecodeWatchEvent(const Json& event);

}  // namespace strongroom::cluster::json_wire

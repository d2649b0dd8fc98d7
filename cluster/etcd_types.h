// cluster/etcd_types.h — the values of etcd's v3 key-value API as Strongroom
// uses them: keys and values are bytes (std::string), revisions, versions and
// lease ids are etcd's int64, member and cluster ids its uint64. Requests and
// results are plain structs; EtcdClient (etcd_client.h) sends them.
//
// SECURITY: values written to etcd are records the store has already
// encrypted and MAC'd; nothing here logs or prints a value, and an error
// message never contains one. Thread-safety: values, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace strongroom::cluster {

// ResponseHeader is what every etcd answer carries. `revision` is the store's
// revision when the request was served (for a write: the revision it made).
struct ResponseHeader {
  std::uint64_t cluster_id = 0;
  std::uint64_t member_id = 0;  // the member that served the request
  std::int64_t revision = 0;
  std::uint64_t raft_term = 0;
};

// KeyValue is one stored key. create_revision is the revision that created
// the key (0 in a comparison: the key does not exist), mod_revision the one
// that last wrote it, version the number of writes since its creation, lease
// the lease it is attached to (0: none).
struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

// PrefixEnd returns the range_end that selects every key starting with
// `prefix`: the prefix with its last byte below 0xff incremented (trailing
// 0xff bytes dropped). For an empty prefix, or one of 0xff bytes only, it
// returns "\0", etcd's "every key from `key` on".
std::string PrefixEnd(const std::string& prefix);

// RangeRequest reads [key, range_end), or only `key` when range_end is empty.
struct RangeRequest {
  std::string key;
  std::string range_end;        // default empty: the single key `key`
  std::int64_t limit = 0;       // default 0: no limit (`more` says if one cut)
  std::int64_t revision = 0;    // default 0: the latest; else the store as of then
  bool keys_only = false;       // default false: values too
  bool count_only = false;      // default false: the keys too, not only `count`
  bool serializable = false;    // default false: linearizable (through the leader)
};

struct RangeResult {
  ResponseHeader header;
  std::vector<KeyValue> kvs;  // in key order
  bool more = false;          // more keys matched than `limit` returned
  std::int64_t count = 0;     // how many keys matched in all
};

// PutRequest writes one key, attached to `lease` if non-zero.
struct PutRequest {
  std::string key;
  std::string value;
  std::int64_t lease = 0;
  bool prev_kv = false;  // default false: return the replaced key-value too
};

struct PutResult {
  ResponseHeader header;
  std::optional<KeyValue> prev_kv;  // when asked and the key existed
};

// DeleteRequest deletes [key, range_end), or only `key` when range_end is empty.
struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteResult {
  ResponseHeader header;
  std::int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;  // when asked
};

// Compare is one condition of a transaction: <target of key> <result> <operand>.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  Target target = Target::kModRevision;
  Result result = Result::kEqual;
  std::string key;
  std::int64_t number = 0;  // the operand for every target but kValue
  std::string value;        // the operand for kValue

  // KeyMissing holds when `key` does not exist (create revision 0): a create.
  static Compare KeyMissing(std::string key);
  // ModRevisionIs holds when `key` was last written at `revision` (0: the key
  // does not exist): Kubernetes' resourceVersion check for update and delete.
  static Compare ModRevisionIs(std::string key, std::int64_t revision);
  // ValueIs holds when `key` holds exactly `value` (a missing key holds none).
  static Compare ValueIs(std::string key, std::string value);
  // LeaseIs holds when `key` is attached to `lease`.
  static Compare LeaseIs(std::string key, std::int64_t lease);
};

using TxnOp = std::variant<RangeRequest, PutRequest, DeleteRequest>;
using TxnOpResult = std::variant<RangeResult, PutResult, DeleteResult>;

// TxnRequest: if every compare holds, `success` runs, else `failure`; both
// atomically, as one revision (no revision when they only read).
struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnResult {
  ResponseHeader header;
  bool succeeded = false;                // every compare held
  std::vector<TxnOpResult> responses;    // one per op of the branch that ran
};

// LeaseGrant is a granted (or renewed) lease: its id and remaining seconds.
struct Lease {
  ResponseHeader header;
  std::int64_t id = 0;
  std::int64_t ttl_seconds = 0;
};

// MemberStatus is one member's view of the cluster (maintenance status).
struct MemberStatus {
  ResponseHeader header;        // header.member_id is the member that answered
  std::uint64_t leader = 0;     // the leader's member id (0: no leader known)
  std::string version;          // etcd's version, e.g. "3.4.23"
  std::int64_t db_size = 0;
  std::uint64_t raft_index = 0;
  std::uint64_t raft_term = 0;
};

// WatchEvent is one change seen by a watch.
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: the key and mod_revision (the deleting revision)
};

}  // namespace strongroom::cluster

// audit/record.h — one audit record: what an event says, and the exact bytes
// of its line in the log (SPEC section 8), so an auditor can re-implement
// the verifier from this file alone.
//
// A line is one compact JSON object followed by "\n". Its members, in this
// order (absent ones are omitted):
//   seq, time, type ("event" | "checkpoint" | "not-committed" |
//   "outcome-unknown"), node,
//   action,
//   actor {kind, name, token_id, certificate_sha256, address},
//   resource {namespace, kind, name},
//   outcome {result ("allowed" | "denied" | "failed"), status, reason},
//   request_id, resource_version, count, refers_to, details {..},
//   checkpoint {head_seq, head_hash, resource_version, store_digest,
//               key_sha256, signature},
//   prev, hash.
// hash = hex(SHA-256(prev ‖ B)) where prev is the previous record's hash as
// 64 lowercase hex characters (64 "0" before the first record) and B is the
// line's bytes before `,"hash":`. A checkpoint's signature is ECDSA P-256
// over SHA-256(CheckpointMessage(...)), raw r‖s, base64.
// node (issue 18) names the appliance whose log this is, on every line of a
// log whose node has a name (`[cluster] node_name`); it is absent from the
// lines of a log without one (single-node logs are unchanged). Within one
// chain it never changes: once a line carries it, every later line carries
// the same name (a log written before its node was named is named from one
// record on, which is an audit.node.named record). A checkpoint seals the
// name through the hash chain it covers.
// Thread-safety: plain values and functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::audit {

// kLogCreatedAction is the action of a log's first record; its details
// carry "key_sha256", the fingerprint of the audit key that seals the log.
inline constexpr std::string_view kLogCreatedAction = "audit.log.created";

// kAuditKeyChangedAction marks a change of the audit signing key, written
// when `strongroom escrow recover` opens the log with a new token's key
// (the old key was lost with the old token). Its details carry "key_sha256",
// the new key's fingerprint, and "previous_key_sha256". Checkpoints after it
// are signed by the new key; a verifier accepts it only when the auditor
// pinned the new key too (verifier.h).
inline constexpr std::string_view kAuditKeyChangedAction = "audit.key.changed";

// kNodeNamedAction is the first record of a log written with a node name
// after records without one: its details carry "node", the new name.
inline constexpr std::string_view kNodeNamedAction = "audit.node.named";

// kZeroHash is the "previous hash" of the first record of a log.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Actor is who did it. kind: "user", "token", "service", "system" or
// "anonymous". SECURITY: never a password, token secret or PIN; token_id is
// the token's public id.
struct Actor {
  std::string kind;
  std::string name;
  std::string token_id;
  std::string certificate_sha256;
  std::string address;
};

struct Resource {
  std::string namespace_name;
  std::string kind;
  std::string name;
};

enum class Outcome { kAllowed, kDenied, kFailed };
std::string_view OutcomeName(Outcome outcome);

// Event is what a caller asks to record.
struct Event {
  std::string action;  // "secret.securevalues:create", "server.start", ...
  Actor actor;
  Resource resource;
  Outcome outcome = Outcome::kAllowed;
  int http_status = 0;  // 0: not an HTTP request
  std::string reason;   // a short code: "ok", "forbidden", "not_found", ...
  std::string request_id;
  std::optional<std::uint64_t> resource_version;  // the one a write commits
  std::uint64_t count = 0;                        // coalesced events (> 0 written)
  // details: extra safe strings (a key fingerprint, a file name). SECURITY:
  // never a secret value, password, token or PIN.
  std::vector<std::pair<std::string, std::string>> details;
};

// CheckpointBody is what a checkpoint signs.
struct CheckpointBody {
  std::uint64_t head_seq = 0;          // the record just before the checkpoint
  std::string head_hash;               // its hash (hex)
  std::uint64_t resource_version = 0;  // the store's committed resourceVersion
  std::string store_digest;            // hex of the store digest at that version ("" if none)
  std::string key_sha256;              // fingerprint of the signing key
  std::string signature;               // base64 raw r‖s
};

// CheckpointMessage is the exact byte string a checkpoint signs:
// "strongroom-audit-checkpoint-v1\n<head_seq>\n<head_hash>\n<resource_version>\n<store_digest>\n".
std::string CheckpointMessage(const CheckpointBody& body);

// RecordType names the four kinds of line. kOutcomeUnknown (replicated
// mode) follows the records of a batch whose cluster transaction was sent
// but whose outcome could not be learnt in time: it refers_to one record and
// does not cancel it (the change may be in the store, or may never be).
enum class RecordType { kEvent, kCheckpoint, kNotCommitted, kOutcomeUnknown };

// EncodeLine returns the full line (with its trailing "\n") for a record
// numbered `seq` written at `time` after the record whose hash is `prev`,
// and sets `*hash` to its hash. For kNotCommitted, `refers_to` is the seq of
// the record whose change was not committed (kOutcomeUnknown: whose outcome
// is unknown).
// `node` is the log's node name ("" writes no node member).
std::string EncodeLine(std::uint64_t seq, std::string_view time, RecordType type,
                       const Event* event, const CheckpointBody* checkpoint,
                       std::optional<std::uint64_t> refers_to, std::string_view prev,
                       std::string* hash, std::string_view node = {});

// EncodeEventBody returns the members of an event record between "type"
// and "prev" (action through details, each preceded by a comma), for
// EncodeEventLine. The sequencer is the one serial point of the log, so
// callers encode this part on their own threads before queueing.
std::string EncodeEventBody(const Event& event);

// EncodeEventLine is EncodeLine for a kEvent record without refers_to whose
// members `body` came from EncodeEventBody: the same bytes.
std::string EncodeEventLine(std::uint64_t seq, std::string_view time, std::string_view body,
                            std::string_view prev, std::string* hash, std::string_view node = {});

// ChainHash returns hex(SHA-256(prev ‖ body)).
std::string ChainHash(std::string_view prev, std::string_view body);

// ParsedLine is one line read back, checked only on its own: valid JSON, a
// final `,"hash":"<64 hex>"}` that matches ChainHash(prev, body), and the
// members the chain needs. Links to neighbours are the verifier's job.
struct ParsedLine {
  std::uint64_t seq = 0;
  std::string time;
  RecordType type = RecordType::kEvent;
  std::string prev;
  std::string hash;
  std::string node;  // "" when the line names no node
  std::string action;
  std::string actor_kind, actor_name;
  std::string namespace_name;
  std::string outcome;  // "allowed" | "denied" | "failed" | ""
  std::string request_id;
  std::optional<std::uint64_t> resource_version;
  std::optional<std::uint64_t> refers_to;
  // count: how many events a coalesced record stands for (authentication
  // failures, SPEC 8); absent on a record of one event.
  std::optional<std::uint64_t> count;
  std::string key_sha256;  // details.key_sha256, on the record that opens a log
  std::optional<CheckpointBody> checkpoint;
};

// FollowNode applies the node rule (above) to the next line of a chain:
// `chain_node` is the name the chain's lines carry so far ("" while none
// did). OK, setting `chain_node` to the line's name when the chain is named
// here; kIntegrityError when the line names another node or, after named
// lines, none.
Status FollowNode(std::string& chain_node, std::string_view line_node);

// ParseLine checks one line (without its "\n") on its own. kIntegrityError
// with a short reason ("not JSON", "hash does not match its contents", ...).
StatusOr<ParsedLine> ParseLine(std::string_view line);

}  // namespace strongroom::audit

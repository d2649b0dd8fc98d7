// audit/chain_walk.h — private to audit/: walking the lines of a log in
// order the way start-up recovery does, each line checked on its own
// (ParseLine: its hash matches its bytes) and against the one before it
// (seq + 1, prev = the previous hash), gathering what recovery needs: the
// head, the last checkpoint, the audit key in force, the records after the
// last checkpoint, and the writes a `not-committed` record may be due for.
// Used for the tail that Open reads and for the part of the log that the
// deferred start-up verification reads after Open (audit_log.h).
// Thread-safety: a ChainWalk belongs to one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "audit/verifier.h"
#include "base/status.h"

namespace strongroom::audit {

class ChainWalk {
 public:
  // `start` is the record before the first line walked. nullopt: the first
  // line starts the chain wherever it is (its own seq and prev are taken as
  // given; a first line numbered 1 must follow the zero hash): rotated
  // files archived away, or a tail whose first record is checked by the
  // caller. `store_resource_version` is the store's at Open: allowed writes
  // above it are collected in writes().
  ChainWalk(std::optional<Head> start, std::uint64_t store_resource_version);

  // Line walks one line (without "\n"). kIntegrityError saying what is
  // wrong: the line does not verify on its own, or does not follow the
  // line before it. REQUIRES: no earlier call failed.
  Status Line(std::string_view text);

  // StartNode sets the node name the chain carries before the first line
  // walked (the rotated files' last record's), so a line without it, or
  // with another, fails (record.h, FollowNode).
  void StartNode(std::string node) { node_ = std::move(node); }
  // node is the node name the lines walked carry ("" when none did).
  const std::string& node() const { return node_; }

  // head is the last record walked (or `start`; seq 0 when neither).
  const Head& head() const { return head_; }
  // first_seq is the seq of the first line walked (0: none yet).
  std::uint64_t first_seq() const { return first_seq_; }
  // first_record_hash is record 1's hash when it was walked, else "".
  const std::string& first_record_hash() const { return first_record_hash_; }
  // first_prev is the prev of the first line walked ("" when none).
  const std::string& first_prev() const { return first_prev_; }
  // Remember asks the walk to keep the hash of record `seq`;
  // remembered_hash is that hash once walked, else "".
  void Remember(std::uint64_t seq) { remembered_seq_ = seq; }
  const std::string& remembered_hash() const { return remembered_hash_; }
  // last_checkpoint is the last checkpoint walked.
  const std::optional<ParsedLine>& last_checkpoint() const { return last_checkpoint_; }
  // last_key is the audit key in force at the head, as the lines walked
  // say it ("" when none says it).
  const std::string& last_key() const { return last_key_; }
  // unsealed counts the records after the last checkpoint walked (all of
  // them when none was); head_is_checkpoint says whether the head is one.
  std::uint64_t unsealed() const { return unsealed_; }
  bool head_is_checkpoint() const { return head_is_checkpoint_; }
  // writes are the allowed events walked whose resourceVersion is above
  // the store's; cancelled the seqs that walked not-committed records
  // cancel.
  std::vector<ParsedLine>& writes() { return writes_; }
  const std::set<std::uint64_t>& cancelled() const { return cancelled_; }

 private:
  Head head_;
  bool start_anywhere_;
  std::uint64_t store_resource_version_;
  std::uint64_t first_seq_ = 0;
  std::string first_record_hash_;
  std::string first_prev_;
  std::uint64_t remembered_seq_ = 0;
  std::string remembered_hash_;
  std::optional<ParsedLine> last_checkpoint_;
  std::string last_key_;
  std::string node_;
  std::uint64_t unsealed_ = 0;
  bool head_is_checkpoint_ = false;
  std::vector<ParsedLine> writes_;
  std::set<std::uint64_t> cancelled_;
};

}  // namespace strongroom::audit

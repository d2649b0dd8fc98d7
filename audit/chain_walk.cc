#include "audit/chain_walk.h"

#include <utility>

namespace strongroom::audit {

ChainWalk::ChainWalk(std::optional<Head> start, std::uint64_t store_resource_version)
    : head_(start.value_or(Head{0, std::string(kZeroHash)})),
      start_anywhere_(!start.has_value()),
      store_resource_version_(store_resource_version) {}

Status ChainWalk::Line(std::string_view text) {
  SR_ASSIGN_OR_RETURN(ParsedLine parsed, ParseLine(text));
  if (first_seq_ == 0 && start_anywhere_ && parsed.seq > 1) {
    head_ = Head{parsed.seq - 1, parsed.prev};
  }
  if (parsed.seq != head_.seq + 1 || parsed.prev != head_.hash) {
    return Status::IntegrityError("record " + std::to_string(parsed.seq) +
                                  " does not follow record " + std::to_string(head_.seq));
  }
  if (Status node = FollowNode(node_, parsed.node); !node.ok()) {
    return Status::IntegrityError("record " + std::to_string(parsed.seq) + ": " + node.message());
  }
  if (first_seq_ == 0) {
    first_seq_ = parsed.seq;
    first_prev_ = parsed.prev;
  }
  if (parsed.seq == 1) first_record_hash_ = parsed.hash;
  if (parsed.seq == remembered_seq_) remembered_hash_ = parsed.hash;
  head_ = Head{parsed.seq, parsed.hash};
  head_is_checkpoint_ = parsed.type == RecordType::kCheckpoint;
  if (parsed.checkpoint) {
    last_key_ = parsed.checkpoint->key_sha256;
  } else if (parsed.action == kLogCreatedAction || parsed.action == kAuditKeyChangedAction) {
    last_key_ = parsed.key_sha256;
  }
  if (parsed.type == RecordType::kNotCommitted && parsed.refers_to) {
    cancelled_.insert(*parsed.refers_to);
  }
  if (head_is_checkpoint_) {
    last_checkpoint_ = std::move(parsed);
    unsealed_ = 0;
    return Status::Ok();
  }
  ++unsealed_;
  // Allowed events whose resourceVersion the store has not reached: the
  // only ones a not-committed record may be due for (kept apart, not every
  // write of the log).
  if (parsed.type == RecordType::kEvent && parsed.resource_version &&
      *parsed.resource_version > store_resource_version_ && parsed.outcome == "allowed") {
    writes_.push_back(std::move(parsed));
  }
  return Status::Ok();
}

}  // namespace strongroom::audit

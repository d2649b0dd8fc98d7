// The trust anchor: checking the log and the store against the token's
// anchor at Open, and keeping it up to date from a thread of its own.
#include <pthread.h>

#include "audit/audit_log_state.h"
#include "crypto/token_service.h"

namespace strongroom::audit {
namespace {

class TokenAnchorKeeper : public AnchorKeeper {
 public:
  TokenAnchorKeeper(crypto::TokenService& token, std::string node)
      : token_(token), node_(std::move(node)) {}
  StatusOr<std::optional<crypto::TrustAnchor>> Load() override {
    SR_ASSIGN_OR_RETURN(std::optional<crypto::TrustAnchor> anchor, token_.ReadTrustAnchor(node_));
    // A node named after it ran unnamed continues the single-node anchor,
    // which still protects its log and store; its next anchor is its own.
    // SECURITY: the fallback is never weaker than no anchor: the anchor's
    // log id must still match this node's log (CheckAnchor).
    if (!anchor && !node_.empty()) return token_.ReadTrustAnchor("");
    return anchor;
  }
  Status Save(const crypto::TrustAnchor& anchor, bool replace) override {
    return replace ? token_.ReplaceTrustAnchor(anchor, node_)
                   : token_.WriteTrustAnchor(anchor, node_);
  }

 private:
  crypto::TokenService& token_;
  const std::string node_;
};

std::string Short(const std::string& hash) { return hash.substr(0, 16) + "…"; }

constexpr std::string_view kAdoptHint =
    "if the log was lost for good, verify what is left offline (`strongroom audit verify`) against "
    "a head copied off the host, then run `strongroom anchor adopt` (README, \"Trust anchor\")";

}  // namespace

std::shared_ptr<AnchorKeeper> NewTokenAnchorKeeper(crypto::TokenService& token,
                                                   std::string node_name) {
  return std::make_shared<TokenAnchorKeeper>(token, std::move(node_name));
}

Status AuditLog::State::CheckAnchor(const std::optional<crypto::TrustAnchor>& anchor,
                                    const Head& head_now, const std::string& first_record_hash,
                                    const std::string& anchored_hash, const StoreState& store) {
  log_id = first_record_hash;
  if (!options.anchor) return Status::Ok();  // no token anchor kept
  if (options.anchor_mode == AnchorMode::kNewStore || options.anchor_mode == AnchorMode::kAdopt ||
      options.anchor_mode == AnchorMode::kRecover) {
    replace_anchor = true;
    // A new log (kNewStore: init, or a cluster node's join) takes its id
    // from its own first record, never from the anchor it replaces (another
    // log's, or the unnamed anchor a named node falls back to).
    if (log_id.empty() && anchor && options.anchor_mode != AnchorMode::kNewStore) {
      log_id = anchor->log_id;
    }
    return Status::Ok();
  }
  auto refuse = [](const std::string& what) {
    return Status::FailedPrecondition(what + "; start-up refused");
  };
  const std::string dir = options.dir;
  if (!anchor) {
    if (head_now.seq == 0 && store.resource_version == 0) return Status::Ok();  // a new appliance
    return refuse(
        "the token holds no trust anchor for the store (resourceVersion " +
        std::to_string(store.resource_version) + ") and the audit log in " + dir +
        " (ending at record " + std::to_string(head_now.seq) +
        "): they were written before Strongroom kept anchors, or the anchor was removed from the "
        "token. Verify the log offline (`strongroom audit verify`) and run `strongroom anchor "
        "adopt` (README, \"Upgrading\")");
  }
  if (!first_record_hash.empty() && first_record_hash != anchor->log_id) {
    return refuse("the audit log in " + dir + " is not the one the token anchors (its first record " +
                  Short(first_record_hash) + ", the anchored log's " + Short(anchor->log_id) +
                  "): it was replaced or started over. Put the anchored log back; " +
                  std::string(kAdoptHint));
  }
  const std::string anchored_record = "record " + std::to_string(anchor->sealed_seq);
  if (head_now.seq < anchor->sealed_seq) {
    return refuse(
        (head_now.seq == 0 ? "the audit log in " + dir + " is missing or empty"
                           : "the audit log in " + dir + " ends at record " +
                                 std::to_string(head_now.seq)) +
        ", but the token anchors it up to " + anchored_record +
        ": records were removed, or the log was rolled back or replaced. Put the log back as it "
        "was; " + std::string(kAdoptHint));
  }
  if (anchored_hash.empty()) {
    return refuse("the token anchors " + anchored_record + " of the audit log, which is in a rotated file "
                  "missing from " + dir + ". Put the archived audit-*.jsonl files back");
  }
  if (anchored_hash != anchor->head_hash) {
    return refuse(anchored_record + " of the audit log in " + dir + " is not the one the token anchors (" +
                  Short(anchored_hash) + " instead of " + Short(anchor->head_hash) +
                  "): the log was rewritten. Put the log back as it was; " +
                  std::string(kAdoptHint));
  }
  if (options.anchor_mode == AnchorMode::kRequire) {
    if (store.resource_version < anchor->resource_version) {
      return refuse("the store (resourceVersion " + std::to_string(store.resource_version) +
                    ") is older than the token's anchor (resourceVersion " +
                    std::to_string(anchor->resource_version) +
                    "): it was rolled back. Put the current store back, or install a backup "
                    "deliberately with `strongroom restore`");
    }
    if (store.resource_version == anchor->resource_version && !anchor->store_digest.empty() &&
        store.digest_hex != anchor->store_digest) {
      return refuse("the store at resourceVersion " + std::to_string(store.resource_version) +
                    " is not the one the token anchors (its digest differs): it was replaced. "
                    "Put the current store back, or install a backup with `strongroom restore`");
    }
  }
  if (log_id.empty()) log_id = anchor->log_id;
  this->anchored = anchor;
  stats.anchored_seq = anchor->sealed_seq;
  return Status::Ok();
}

void AuditLog::State::Sealed(const Head& at) {
  if (!options.anchor || log_id.empty()) return;
  const StoreState& sealed = checkpointer->sealed_store();
  to_anchor =
      crypto::TrustAnchor{log_id, at.seq, at.hash, sealed.resource_version, sealed.digest_hex};
  anchor_wake.notify_all();
}

void AuditLog::State::SaveAnchor() {
  std::optional<crypto::TrustAnchor> anchor;
  bool replace = false;
  {
    std::lock_guard lock(mutex);
    if (!options.anchor || !to_anchor) return;
    if (anchored && to_anchor->sealed_seq <= anchored->sealed_seq) return;
    anchor = to_anchor;
    replace = replace_anchor;
  }
  // SECURITY: a sequencer abandoned at shutdown must not touch the token.
  if (detached) return;
  Status saved = options.anchor->Save(*anchor, replace);
  std::lock_guard lock(mutex);
  if (saved.ok()) {
    anchored = anchor;
    replace_anchor = false;
    ++stats.anchors_written;
    stats.anchored_seq = anchor->sealed_seq;
  } else {
    ++stats.anchor_failures;
    if (options.warn) options.warn("the token's trust anchor was not updated: " + saved.message());
  }
}

void AuditLog::State::KeepAnchor() {
  std::unique_lock lock(mutex);
  SteadyTime next = std::chrono::steady_clock::now();
  auto newer = [&] {
    return to_anchor && (!anchored || to_anchor->sealed_seq > anchored->sealed_seq);
  };
  while (!anchor_stop) {
    if (newer() && (anchor_urgent || std::chrono::steady_clock::now() >= next)) {
      anchor_urgent = false;
      lock.unlock();
      SaveAnchor();
      lock.lock();
      next = std::chrono::steady_clock::now() + options.anchor_interval;
    } else if (newer()) {
      anchor_wake.wait_until(lock, next, [&] { return anchor_stop || anchor_urgent; });
    } else {
      anchor_wake.wait(lock, [&] { return anchor_stop || newer(); });
    }
  }
}

void AuditLog::State::StopAnchorThread() {
  {
    std::lock_guard lock(mutex);
    anchor_stop = true;
  }
  anchor_wake.notify_all();
  if (anchor_thread.joinable()) anchor_thread.join();
}

}  // namespace strongroom::audit

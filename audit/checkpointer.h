// audit/checkpointer.h — private to audit/: what seals the log (SPEC 8).
// When a checkpoint is due (every N records, or once the oldest unsealed
// record is older than the interval), signing one over a head with the
// token's audit key and the store's committed state at that moment, and the
// gate that holds all sealing while the deferred start-up verification runs
// (audit_log.h, AuditLogOptions::defer_verification).
// Thread-safety: Encode is called by one thread at a time (the sequencer,
// which owns the files); Due, Hold, Allow and allowed by any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_log.h"

namespace strongroom::audit {

using SteadyTime = std::chrono::steady_clock::time_point;

class Checkpointer {
 public:
  // SealPolicy is when a checkpoint is due (AuditLogOptions' fields).
  struct SealPolicy {
    std::uint64_t every_records = 1000;
    std::chrono::milliseconds interval{1000};
    bool seal_every_group = false;
  };

  // REQUIRES: `signer` is not null. `store_state` may be empty (no store:
  // checkpoints then carry resourceVersion 0 and no digest).
  Checkpointer(std::unique_ptr<CheckpointSigner> signer, StoreStateSource store_state,
               SealPolicy policy);

  CheckpointSigner& signer() const { return *signer_; }

  // StoreNow reads the store's committed state (zero when there is no store).
  StatusOr<StoreState> StoreNow() const;

  // Due tells whether `unsealed` records, the oldest written at `oldest`,
  // and `more` about to be written, are due a checkpoint at `now`. Never
  // while the gate is held.
  bool Due(std::uint64_t unsealed, const std::optional<SteadyTime>& oldest, SteadyTime now,
           std::uint64_t more = 0) const;

  // Encode returns the line of a checkpoint over `over` (numbered
  // over.seq + 1, written at `time`), carrying the store's state read now
  // and signed in the token, and sets `*hash` to its hash. sealed_store()
  // is then that store state. Errors: the store's or the signer's.
  // `node` is the log's node name (record.h; "" none).
  StatusOr<std::string> Encode(const Head& over, std::string_view time, std::string* hash,
                               std::string_view node = {});
  // sealed_store is the store state the last Encode sealed.
  const StoreState& sealed_store() const { return sealed_store_; }

  // Hold stops sealing until Allow.
  // SECURITY: held from before the sequencer starts until the deferred
  // start-up verification has passed, and for good when it failed.
  void Hold() { allowed_.store(false, std::memory_order_release); }
  void Allow() { allowed_.store(true, std::memory_order_release); }
  bool allowed() const { return allowed_.load(std::memory_order_acquire); }

 private:
  std::unique_ptr<CheckpointSigner> signer_;
  StoreStateSource store_state_;
  SealPolicy policy_;
  StoreState sealed_store_;  // the sequencer's
  std::atomic<bool> allowed_{true};
};

}  // namespace strongroom::audit

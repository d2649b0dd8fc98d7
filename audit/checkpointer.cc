// Checkpointer (checkpointer.h), and the sequencer's step that writes a
// checkpoint of its own.
#include "audit/checkpointer.h"

#include <openssl/evp.h>

#include "audit/audit_log_state.h"

namespace strongroom::audit {
namespace {

std::string Base64(ByteSpan bytes) {
  std::string out(((bytes.size() + 2) / 3) * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

Checkpointer::Checkpointer(std::unique_ptr<CheckpointSigner> signer, StoreStateSource store_state,
                           SealPolicy policy)
    : signer_(std::move(signer)), store_state_(std::move(store_state)), policy_(policy) {}

StatusOr<StoreState> Checkpointer::StoreNow() const {
  if (!store_state_) return StoreState{};
  return store_state_();
}

bool Checkpointer::Due(std::uint64_t unsealed, const std::optional<SteadyTime>& oldest,
                       SteadyTime now, std::uint64_t more) const {
  if (!allowed()) return false;
  if (unsealed + more == 0) return false;
  if (policy_.seal_every_group && more > 0) return true;
  if (unsealed + more >= policy_.every_records) return true;
  return oldest && now - *oldest >= policy_.interval;
}

StatusOr<std::string> Checkpointer::Encode(const Head& over, std::string_view time,
                                           std::string* hash, std::string_view node) {
  CheckpointBody body;
  body.head_seq = over.seq;
  body.head_hash = over.hash;
  SR_ASSIGN_OR_RETURN(sealed_store_, StoreNow());
  body.resource_version = sealed_store_.resource_version;
  body.store_digest = sealed_store_.digest_hex;
  body.key_sha256 = signer_->key_sha256();
  SR_ASSIGN_OR_RETURN(auto signature, signer_->Sign(AsBytes(CheckpointMessage(body))));
  body.signature = Base64(signature);
  return EncodeLine(over.seq + 1, time, RecordType::kCheckpoint, nullptr, &body, std::nullopt,
                    over.hash, hash, node);
}

bool AuditLog::State::CheckpointDue(SteadyTime now, std::uint64_t more) const {
  return checkpointer->Due(unsealed, oldest_unsealed, now, more);
}

StatusOr<std::string> AuditLog::State::EncodeCheckpoint(const Head& over, const std::string& time,
                                                        std::string* hash) {
  // SECURITY: a sequencer abandoned at shutdown must not touch the token.
  if (detached)
    return std::unexpected(Status::Unavailable("the audit log was abandoned at shutdown"));
  return checkpointer->Encode(over, time, hash, options.node_name);
}

Status AuditLog::State::WriteCheckpoint() {
  std::string hash;
  SR_ASSIGN_OR_RETURN(std::string line, EncodeCheckpoint(written_head, Now(), &hash));
  SR_RETURN_IF_ERROR(AppendLines({line}));
  std::lock_guard lock(mutex);
  written_head = Head{written_head.seq + 1, hash};
  head = written_head;
  head_is_checkpoint = true;
  unsealed = 0;
  oldest_unsealed.reset();
  ++stats.checkpoints;
  ++stats.records;
  Sealed(written_head);
  return Status::Ok();
}

}  // namespace strongroom::audit

// `strongroom anchor show` and `strongroom anchor adopt`: the trust anchor
// the token holds for the audit log and the store (crypto/trust_anchor.h).
//
// adopt is the way forward for a store and log written before Strongroom
// kept anchors, and after a loss an operator has looked into. It needs the
// PIN, the server stopped, a log that verifies under the token's audit key
// and a store whose records verify; it is audited, and it prints what it
// adopts.
#include <filesystem>
#include <iostream>

#include "appliance/commands.h"
#include "crypto/crypto.h"

namespace strongroom::appliance {
namespace {

void PrintAnchor(const std::optional<crypto::TrustAnchor>& anchor) {
  if (!anchor) {
    std::cout << "the token holds no trust anchor\n";
    return;
  }
  std::cout << "log id:            " << anchor->log_id << "\n"
            << "sealed head:       " << anchor->sealed_seq << ":" << anchor->head_hash << "\n"
            << "resourceVersion:   " << anchor->resource_version << "\n"
            << "store digest:      " << (anchor->store_digest.empty() ? "(none)" : anchor->store_digest)
            << "\n";
}

}  // namespace

Status RunAnchorShow(const CommonFlags& flags) {
  // The anchor of the node whose log is in the data directory (one token
  // may hold several nodes' anchors: crypto/trust_anchor.h).
  SR_ASSIGN_OR_RETURN(std::string node, audit::NodeNameOfLog(flags.data_dir + "/audit"));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<crypto::TokenService> token, OpenToken(flags));
  SR_ASSIGN_OR_RETURN(std::optional<crypto::TrustAnchor> anchor, token->ReadTrustAnchor(node));
  if (!node.empty()) std::cout << "node:              " << node << "\n";
  PrintAnchor(anchor);
  return Status::Ok();
}

Status RunAnchorAdopt(const CommonFlags& flags) {
  SR_RETURN_IF_ERROR(CheckDataDirOwner(flags.data_dir));
  SR_ASSIGN_OR_RETURN(bool running, storage::Store::ServerRunning(flags.data_dir));
  if (running) {
    return Status::FailedPrecondition("the server is running on " + flags.data_dir +
                                      "; stop it before adopting an anchor");
  }
  SR_ASSIGN_OR_RETURN(std::string node, audit::NodeNameOfLog(flags.data_dir + "/audit"));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<crypto::TokenService> token, OpenToken(flags));
  SR_ASSIGN_OR_RETURN(std::optional<crypto::TrustAnchor> previous, token->ReadTrustAnchor(node));
  std::cout << "before:\n";
  PrintAnchor(previous);
  // SECURITY: what is adopted must at least verify: every line of the log
  // and every checkpoint under the token's audit key, and (Keyring::Open
  // below) every record of the store and its digest.
  SR_ASSIGN_OR_RETURN(crypto::AuditPublicKey key, token->GetAuditPublicKey());
  const std::string log_dir = flags.data_dir + "/audit";
  std::error_code ec;
  if (std::filesystem::exists(log_dir + "/" + std::string(audit::kCurrentFileName), ec)) {
    audit::VerifyOptions verify;
    verify.public_key_pem = key.pem;
    audit::VerifyReport report = audit::VerifyDirectory(log_dir, verify);
    std::cout << "audit log: " << report.Summary() << "\n";
    if (!report.ok) {
      return Status::FailedPrecondition(
          "the audit log does not verify; nothing adopted. Find out why before going on (an "
          "auditor should look at " + log_dir + ")");
    }
  } else {
    std::cout << "audit log: none in " << log_dir << "; a new log starts\n";
  }
  token.reset();
  SR_ASSIGN_OR_RETURN(Environment env,
                      OpenEnvironment(flags, /*create_if_missing=*/false, /*with_keyring=*/true,
                                      /*hold_server_lock=*/false, audit::AnchorMode::kAdopt));
  const audit::Head head = env.audit->head();
  SR_RETURN_IF_ERROR(AuditCliEvent(
      env, "anchor.adopt", {"", "anchor", ""},
      {{"previous_sealed_seq", previous ? std::to_string(previous->sealed_seq) : "none"},
       {"previous_resource_version",
        previous ? std::to_string(previous->resource_version) : "none"},
       {"log_head_seq", std::to_string(head.seq)}}));
  SR_RETURN_IF_ERROR(env.audit->Close());
  SR_ASSIGN_OR_RETURN(std::optional<crypto::TrustAnchor> adopted, env.token->ReadTrustAnchor(node));
  std::cout << "adopted:\n";
  PrintAnchor(adopted);
  if (!adopted) return Status::Unavailable("the token did not keep the new anchor; run adopt again");
  return Status::Ok();
}

}  // namespace strongroom::appliance

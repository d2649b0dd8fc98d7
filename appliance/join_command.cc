// `strongroom join`: a new node of a cluster (issue 18). The first node
// runs `init` and `serve` (which seeds etcd from its store); every other
// node starts from an empty data directory and the cluster's token (the
// same HSM partition; in development the same SoftHSM token directory):
//   strongroom join --config /etc/strongroom/strongroom.toml
//   strongroom serve --config /etc/strongroom/strongroom.toml
// join takes the cluster's wrapped record-MAC key from etcd (the kMeta value
// the first node seeded), checks that this node's token unwraps it, stores
// it, reads the whole store from etcd (every record verified under that
// key), and starts this node's audit log (new, anchored in the token under
// this node's name). It creates no key and no user; serve then resumes
// etcd's watch from the revision read.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "appliance/cluster_node.h"
#include "appliance/commands.h"
#include "appliance/environment.h"
#include "appliance/server_config.h"
#include "crypto/keyring_store.h"

namespace strongroom::appliance {
namespace {

constexpr std::string_view kMacKeyMeta = "record-mac-key";

// UnwrapClusterKey unwraps the store's wrapped record-MAC key through the
// token (proving this node holds the cluster's KEK) and installs it as the
// store's record authenticator, so the full read can verify every record.
Status UnwrapClusterKey(crypto::TokenService& token, storage::Store& store) {
  SR_ASSIGN_OR_RETURN(std::optional<crypto::WrappedMacKey> wrapped,
                      crypto::ReadWrappedMacKey(store));
  if (!wrapped.has_value()) return Status::Internal("the record-MAC key was not stored");
  StatusOr<SecretBytes> key =
      token.UnwrapKey(wrapped->kek_id, wrapped->wrapped, crypto::WrappedKeyType::kHmacSha256);
  if (!key.has_value()) {
    return Status(key.error().code(),
                  "this node's token does not unwrap the cluster's record-MAC key (KEK " +
                      wrapped->kek_id +
                      "): every node must use the cluster's token (the same HSM partition): " +
                      key.error().message());
  }
  SR_ASSIGN_OR_RETURN(auto authenticator, crypto::HmacRecordAuthenticator::Create(std::move(*key)));
  store.SetAuthenticator(std::move(authenticator));
  return Status::Ok();
}

// ReadClusterStore applies the cluster's whole store to `store` (a full
// read at one revision, every record verified), then stops: serve resumes
// the watch from that revision.
Status ReadClusterStore(const ClusterConfig& cluster, storage::Store& store) {
  SR_ASSIGN_OR_RETURN(replica::ReplicaOptions options, ReplicaOptionsFor(cluster));
  options.seed_if_missing = false;  // joining never seeds
  SR_ASSIGN_OR_RETURN(std::unique_ptr<replica::Replica> replica,
                      replica::Replica::Start(store, std::move(options)));
  replica->Stop();
  return Status::Ok();
}

}  // namespace

Status RunJoin(const ServeFlags& flags) {
  SR_ASSIGN_OR_RETURN(ServerConfig config, ResolveServeConfig(flags));
  if (!config.cluster.replicated()) {
    return Status::InvalidArgument(
        "[cluster] endpoints: join needs a [cluster] section naming etcd (endpoints, ca_file, "
        "cert_file, key_file, node_name)");
  }
  SR_RETURN_IF_ERROR(InstallArena(config.common));
  // Ask etcd first: nothing is created when the cluster cannot be reached
  // or has no store yet.
  SR_ASSIGN_OR_RETURN(Bytes cluster_key, FetchClusterMacKey(config.cluster));
  std::error_code ec;
  const std::string data_file = config.common.data_dir + "/store/data.mdb";
  const bool new_store = !std::filesystem::exists(data_file, ec);
  SR_ASSIGN_OR_RETURN(Environment env, OpenEnvironment(config.common, /*create_if_missing=*/true,
                                                       /*with_keyring=*/false));
  {
    SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, env.store->BeginRead());
    StatusOr<Bytes> local = txn.GetMeta(kMacKeyMeta);
    if (local.has_value()) {
      if (*local != cluster_key) {
        return Status::FailedPrecondition(
            "the data directory " + config.common.data_dir +
            " holds another store (its own record-MAC key): a node joins with an empty data "
            "directory");
      }
      std::cout << "already joined cluster \"" << config.cluster.cluster_name
                << "\": nothing changed\n";
      return Status::Ok();
    }
    if (local.error().code() != StatusCode::kNotFound) return local.error();
  }
  if (!new_store) {
    return Status::FailedPrecondition("the data directory " + config.common.data_dir +
                                      " holds a store that was never initialised: a node joins "
                                      "with an empty data directory");
  }
  SR_RETURN_IF_ERROR(env.store->Write("join:mac-key", [&](storage::WriteTxn& txn) {
    return txn.PutMeta(kMacKeyMeta, cluster_key);
  }));
  Status joined = UnwrapClusterKey(*env.token, *env.store);
  if (joined.ok()) joined = ReadClusterStore(config.cluster, *env.store);
  if (!joined.ok()) {
    // Leave no half-joined store behind: this command created it.
    env = Environment{};
    std::filesystem::remove_all(config.common.data_dir + "/store", ec);
    return joined.WithContext("joining cluster \"" + config.cluster.cluster_name + "\"");
  }
  SR_ASSIGN_OR_RETURN(crypto::AuditPublicKey audit_key, env.token->GetAuditPublicKey());
  SR_RETURN_IF_ERROR(OpenAuditLog(config.common, env, "cli", audit::AnchorMode::kNewStore));
  SR_RETURN_IF_ERROR(AuditCliEvent(env, "appliance.join", {"", "appliance", ""},
                                   {{"cluster", config.cluster.cluster_name},
                                    {"node", config.cluster.node_name},
                                    {"key_sha256", audit_key.fingerprint_sha256}}));
  std::cout << "data directory:      " << config.common.data_dir << "\n"
            << "cluster:             " << config.cluster.cluster_name << " (node "
            << config.cluster.node_name << ")\n"
            << "record-MAC key:      the cluster's, unwrapped by this node's token\n"
            << "audit key SHA-256 fingerprint: " << audit_key.fingerprint_sha256 << "\n"
            << "store:               read from etcd, revision " << env.store->replica_revision()
            << "\n"
            << "next: strongroom serve\n";
  return Status::Ok();
}

}  // namespace strongroom::appliance

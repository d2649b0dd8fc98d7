#include "appliance/cluster_node.h"

#include "api/core/log.h"
#include "base/node_name.h"
#include "cluster/leader_lease.h"
#include "replica/key_layout.h"

namespace strongroom::appliance {

StatusOr<replica::ReplicaOptions> ReplicaOptionsFor(const ClusterConfig& cluster) {
  if (!IsNodeName(cluster.cluster_name)) {
    return std::unexpected(
        Status::InvalidArgument("[cluster] cluster_name: must be " + std::string(kNodeNameRule)));
  }
  replica::ReplicaOptions options;
  options.cluster_name = cluster.cluster_name;
  // The node's own write-attempt key (replica/etcd_replicator.h): without a
  // name each start would leave a random one behind in etcd.
  options.node_name = cluster.node_name;
  options.etcd.endpoints = cluster.endpoints;
  options.etcd.tls = {cluster.ca_file, cluster.cert_file, cluster.key_file};
  options.etcd.call_timeout = cluster.call_timeout;
  // A node that cannot reach a member in half a second tries the next.
  options.etcd.connect_timeout = std::min(std::chrono::milliseconds(500), cluster.call_timeout / 2);
  return options;
}

StatusOr<Bytes> FetchClusterMacKey(const ClusterConfig& cluster) {
  SR_ASSIGN_OR_RETURN(replica::ReplicaOptions options, ReplicaOptionsFor(cluster));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<cluster::EtcdClient> client,
                      cluster::EtcdClient::Create(options.etcd));
  const replica::KeyLayout layout(options.cluster_name);
  SR_ASSIGN_OR_RETURN(cluster::RangeResult found,
                      client->Range({.key = layout.MetaKey("record-mac-key")}));
  if (found.kvs.empty()) {
    return std::unexpected(Status::NotFound(
        "etcd holds no store for cluster \"" + options.cluster_name +
        "\" yet: the first node runs `strongroom init` and then `strongroom serve` with this "
        "[cluster] section, which seeds etcd"));
  }
  const std::string& value = found.kvs.front().value;
  return Bytes(value.begin(), value.end());
}

StatusOr<std::unique_ptr<BackgroundWork>> BackgroundWork::Start(
    const cluster::EtcdClientOptions& etcd, Options options) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<cluster::EtcdClient> client,
                      cluster::EtcdClient::Create(etcd));
  std::unique_ptr<BackgroundWork> work(new BackgroundWork(std::move(client), std::move(options)));
  work->thread_ = std::thread([w = work.get()] { w->Loop(); });
  return work;
}

BackgroundWork::BackgroundWork(std::unique_ptr<cluster::EtcdClient> client, Options options)
    : client_(std::move(client)), options_(std::move(options)) {}

BackgroundWork::~BackgroundWork() { Stop(); }

void BackgroundWork::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundWork::Loop() {
  cluster::LeaderLease lease(*client_, {.key = options_.lock_key,
                                        .holder = options_.node_name,
                                        .ttl_seconds = options_.ttl_seconds});
  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::time_point next_work = SteadyClock::now() + options_.work_every;
  // Renew well within the lease's time to live.
  const auto period =
      std::min(options_.every, std::chrono::milliseconds(options_.ttl_seconds * 1000 / 3));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, period, [this] { return stopping_; })) break;
    }
    if (lease.held()) {
      // A failed renewal that leaves the lock held was transient (etcd
      // unreachable); kNotFound means the lease lapsed and the lock is lost.
      if (Status renewed = lease.KeepAlive(); !renewed.ok() && !lease.held()) {
        api::LogEvent(api::LogLevel::kWarning, "background-work lock lost",
                      {{"detail", renewed.message()}});
      }
    }
    if (!lease.held()) {
      StatusOr<bool> taken = lease.TryAcquire();
      if (taken.has_value() && *taken) {
        api::LogEvent(api::LogLevel::kInfo, "this node now does the cluster's background work",
                      {{"node", options_.node_name}});
        next_work = SteadyClock::now() + options_.work_every;
      }
    }
    held_.store(lease.held());
    if (!lease.held() || SteadyClock::now() < next_work) continue;
    next_work = SteadyClock::now() + options_.work_every;
    if (options_.work) options_.work();
  }
  if (lease.held()) (void)lease.Release();
  held_.store(false);
}

}  // namespace strongroom::appliance

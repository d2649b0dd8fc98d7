// appliance/cluster_node.h — a node of several on etcd (issue 18;
// docs/cluster-design.md): from `[cluster]` to the replica's options, the
// one-node background work under the etcd leader lease, and what
// `strongroom join` does for a node with an empty data directory.
// Private to appliance/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "appliance/server_config.h"
#include "base/status.h"
#include "cluster/etcd_client.h"
#include "replica/replica.h"
#include "storage/storage.h"

namespace strongroom::appliance {

// ReplicaOptionsFor turns `[cluster]` into the replica's options (cluster
// name, endpoints, TLS files, call timeout). kInvalidArgument naming the
// key for a cluster name etcd's layout refuses.
// REQUIRES: cluster.replicated().
StatusOr<replica::ReplicaOptions> ReplicaOptionsFor(const ClusterConfig& cluster);

// FetchClusterMacKey reads the cluster's wrapped record-MAC key (the kMeta
// value "record-mac-key" the first node seeded into etcd). kNotFound when
// etcd holds no store for this cluster name yet; kUnavailable when etcd
// cannot be reached.
StatusOr<Bytes> FetchClusterMacKey(const ClusterConfig& cluster);

// BackgroundWork runs the cluster's scheduled work on one node at a time:
// the holder of the etcd lease `P leader/background` (cluster/leader_lease.h).
// Another node takes over when the holder's lease lapses (it died or lost
// etcd). It tries every `every`; on Stop it releases the lock so another
// node takes over at once. Today's server schedules no key work: the day's
// data keys are created on demand (two nodes' creations conflict in etcd
// and one adopts the other's), and rotation and re-encryption are admin
// requests, each an ordinary write through etcd. `work` is where a
// scheduled job goes (tests use it); its writes go through etcd like any
// other, so a deposed holder's write conflicts rather than corrupts.
// Thread-safety: Start/Stop from one thread; held() from any.
class BackgroundWork {
 public:
  struct Options {
    std::string lock_key;  // replica::KeyLayout(...).prefix() + "leader/background"
    std::string node_name;
    std::chrono::milliseconds every{2000};
    std::int64_t ttl_seconds = 5;
    // work runs every `work_every` while this node holds the lock (the first
    // time `work_every` after it took it); empty: none.
    std::function<void()> work;
    std::chrono::milliseconds work_every{3600 * 1000};
  };
  static StatusOr<std::unique_ptr<BackgroundWork>> Start(const cluster::EtcdClientOptions& etcd,
                                                         Options options);
  ~BackgroundWork();
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  void Stop();
  // held: this node holds the background-work lock (as last learned).
  bool held() const { return held_.load(); }

 private:
  BackgroundWork(std::unique_ptr<cluster::EtcdClient> client, Options options);
  void Loop();

  std::unique_ptr<cluster::EtcdClient> client_;
  const Options options_;
  std::atomic<bool> held_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace strongroom::appliance

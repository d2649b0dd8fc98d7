// api/core/cluster_probe.h — what the API asks of the replicated store in
// cluster mode (issue 18; docs/cluster-design.md): is this node's replica
// applying, how stale is it, which revision has it applied. appliance/
// fills it from replica::Replica; api/ never includes replica/.
//
// Used by: /readyz (false once applying stopped for good, or past
// max_staleness: an unreachable etcd alone leaves a node ready to serve reads
// and decrypts from its replica for max_staleness), /metrics
// (strongroom_cluster_*), and the starts of a request (StartSession,
// StartServiceSession): past max_staleness every read, decrypt and write
// answers 503 with Retry-After, so a revocation made on another node is
// never ignored longer than that.
// Thread-safety: `state` is called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace strongroom::api {

struct ReplicaState {
  bool healthy = true;  // the apply loop applies (Replica::health() OK)
  // stopped: the apply loop stopped for good (a batch did not verify);
  // a transient problem (etcd unreachable) is only unhealthy, and the node
  // stays ready until max_staleness.
  bool stopped = false;
  std::chrono::milliseconds staleness{0};
  std::int64_t applied_revision = 0;
};

struct ClusterProbe {
  // state reads the replica; empty in single-node mode (no checks at all).
  std::function<ReplicaState()> state;
  // staleness reads only the staleness (every request start asks it: one
  // lock, no store access). Set together with `state`.
  std::function<std::chrono::milliseconds()> staleness;
  // Reads and decrypts answer 503 once staleness exceeds this.
  std::chrono::milliseconds max_staleness{30000};

  bool enabled() const { return state && staleness; }
  // Fresh is true in single-node mode, else while staleness <= max_staleness.
  bool Fresh() const { return !enabled() || staleness() <= max_staleness; }
};

}  // namespace strongroom::api

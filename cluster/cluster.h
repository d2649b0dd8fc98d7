// cluster/cluster.h — Strongroom's link to etcd, the replicated source of
// truth of the several-node mode (issue 18; docs/cluster-design.md). Read
// first. In reading order:
//
//   etcd_types.h    keys, revisions, requests and results of etcd's v3 API.
//   etcd_client.h   EtcdClient: range, put, delete, txn, compact, leases and
//                   member status over etcd's JSON gateway with mutual TLS,
//                   a deadline on every call, failover between members.
//   etcd_watch.h    EtcdWatch: a watch read by its own thread, delivering
//                   events in revision order, resuming after reconnects,
//                   reporting compaction.
//   leader_lease.h  LeaderLease: one node does the background work, under an
//                   etcd lease; another takes over when it lapses.
//
// A write's failure says whether it can have been applied (etcd_client.h,
// "Errors"), as a code, never in the message's text:
//   kUnavailable     the request never left this process: not applied;
//   kOutcomeUnknown  it was sent and no answer came, or etcd answered that it
//                    may still apply it: applied or not, the caller must learn
//                    which (etcd has no idempotency key).
// Reads answer kUnavailable for both (they are retried freely).
//
// cluster/ depends on base/ and external libraries (libcurl, nlohmann/json,
// OpenSSL) only: it knows nothing of the store's tables, records or MACs.
// The integration (the apply loop into LMDB, writes as transactions) builds
// on it in storage/ or a module above, as docs/cluster-design.md sketches.
#pragma once

#include "cluster/etcd_client.h"
#include "cluster/etcd_types.h"
#include "cluster/etcd_watch.h"
#include "cluster/leader_lease.h"

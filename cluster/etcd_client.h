// cluster/etcd_client.h — a client of etcd's v3 API through its JSON gateway
// (HTTP/1.1 POSTs to /v3/..., libcurl), with TLS client certificates and a
// deadline on every call. docs/cluster-design.md says why the gateway and not
// gRPC.
//
// Endpoints are tried in turn: a call goes to the member that last answered,
// and moves to the next when a member cannot be reached. Every call asks
// etcd to refuse it at once on a member that has no leader (gRPC metadata
// hasleader=true), so calls fail fast during an election instead of waiting
// out their deadline. Reads (Range, LeaseKeepAlive) are also retried on
// another member when one answers "unavailable" (no leader, leader changed);
// GetMemberStatus asks the one member it names. A write is sent again to
// another member only when it never left this process (the connection or TLS
// handshake failed): etcd has no idempotency key, so a write whose request
// was sent but whose answer never came may or may not have been applied.
//
// Errors (every call): kUnavailable when no member answered within the call's
// deadline (EtcdClientOptions::call_timeout, counted across members) or the
// cluster has no leader; for a write (Put, Delete, Txn, Compact, LeaseGrant,
// LeaseRevoke) kUnavailable means the request never left this process (no
// member could be connected to), so it was certainly not applied, and
// kOutcomeUnknown that it was sent and no answer came, or etcd answered
// "unavailable" (a timeout, a leader change: it may still apply it): the
// write may or may not have been applied, the caller resolves it by reading
// (replica/etcd_replicator.h fences); kOutOfRange for a revision
// etcd has compacted or not reached; kNotFound for an unknown or expired
// lease; kInvalidArgument for a request etcd refuses; kPermissionDenied when
// etcd refuses the client; kResourceExhausted when etcd's space quota or
// request-size limit is hit; kInternal for an answer that cannot be parsed.
// Messages name the endpoint and etcd's reason, never a key's value.
//
// Thread-safety: an EtcdClient may be used from any number of threads at
// once (each call borrows one of a pool of connections).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cluster/etcd_types.h"

namespace strongroom::cluster {

// EtcdTls names the PEM files of the client side of mutual TLS.
struct EtcdTls {
  std::string ca_file;    // the CA that issued the members' certificates
  std::string cert_file;  // this client's certificate (extendedKeyUsage clientAuth)
  std::string key_file;   // its private key
};

struct EtcdClientOptions {
  // endpoints are the members' client URLs, "https://127.0.0.1:2379".
  // REQUIRES: at least one; https:// only (the client refuses plain HTTP).
  std::vector<std::string> endpoints;
  EtcdTls tls;
  // call_timeout bounds every call from its start to its answer, across all
  // the members it tries. Default 2 s.
  std::chrono::milliseconds call_timeout{2000};
  // connect_timeout bounds the TCP and TLS handshake with one member, so a
  // dead member costs at most this before the next is tried. Default 500 ms.
  std::chrono::milliseconds connect_timeout{500};
};

class EtcdHttp;  // private: the connection pool (etcd_http.h)

class EtcdClient {
 public:
  // Create checks the options (kInvalidArgument: no endpoint, a non-https
  // endpoint, a TLS file that cannot be read). It does not contact etcd.
  static StatusOr<std::unique_ptr<EtcdClient>> Create(EtcdClientOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const EtcdClientOptions& options() const { return options_; }

  // Range reads keys (RangeRequest says which and as of when).
  StatusOr<RangeResult> Range(const RangeRequest& request);
  // Put writes one key; result.header.revision is the revision it made.
  StatusOr<PutResult> Put(const PutRequest& request);
  // Delete deletes a key or range (deleted == 0 when none existed).
  StatusOr<DeleteResult> Delete(const DeleteRequest& request);
  // Txn runs a transaction. A failed comparison is not an error:
  // result.succeeded is false and the failure branch ran.
  StatusOr<TxnResult> Txn(const TxnRequest& request);
  // Compact discards every revision below `revision` (physically, waiting
  // until it is done). kOutOfRange when already compacted past it.
  Status Compact(std::int64_t revision);

  // LeaseGrant grants a lease of `ttl_seconds` (etcd may raise a TTL below
  // its minimum, about 2 s with default timings; the result says).
  StatusOr<Lease> LeaseGrant(std::int64_t ttl_seconds);
  // LeaseKeepAlive renews lease `id` once; kNotFound when it has expired or
  // was revoked. Keys attached to a lease are deleted when it expires.
  StatusOr<Lease> LeaseKeepAlive(std::int64_t id);
  // LeaseRevoke revokes lease `id`, deleting its keys; kNotFound if unknown.
  Status LeaseRevoke(std::int64_t id);

  // MemberStatus asks the member at `endpoint` (one of options().endpoints,
  // or any other URL under the same TLS settings) and only it.
  StatusOr<MemberStatus> GetMemberStatus(const std::string& endpoint);

 private:
  EtcdClient(EtcdClientOptions options, std::unique_ptr<EtcdHttp> http);

  EtcdClientOptions options_;
  std::unique_ptr<EtcdHttp> http_;
};

}  // namespace strongroom::cluster

// api/core/api_metrics.h — private to api/: Strongroom's Prometheus metrics
// (SPEC 6.6, section 8's free-space watermark): the registry, the
// per-route request table the TLS front updates, decrypt decisions by
// outcome and reason, and the modules' own counters (audit log, store,
// keyring, token, connections) read at scrape time. README.md lists the
// families.
//
// Hot path: the front and the decrypt routes only increment preallocated
// counters (relaxed atomics); everything else is read when scraped.
//
// Thread-safety: thread-safe; TrackRequests and TrackServer are called by
// ApiServer::Start before and after the server starts.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/core/cluster_probe.h"
#include "api/http/http_server.h"
#include "api/http/request_metrics.h"
#include "api/metrics/metrics_registry.h"
#include "audit/audit.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

namespace strongroom::api {

// MetricsOptions says who may scrape GET /metrics besides a principal
// holding metrics:read (the Auditor and ServerAdmin roles).
struct MetricsOptions {
  // Services whose verified client certificate (named as for decrypt: the
  // CN or the identity mapping) may scrape without a role binding, e.g.
  // "prometheus". Default none.
  std::vector<std::string> scrape_services;
  // Serve /metrics to anyone, without checking credentials. The metrics
  // hold no secret, but they tell an observer the appliance's traffic.
  // Default false.
  bool allow_anonymous = false;
};

class ApiMetrics {
 public:
  // ApiMetrics registers every family but the per-route ones. `audit`,
  // `store`, `keyring` and `token` must outlive it.
  ApiMetrics(MetricsOptions options, audit::AuditLog& audit, storage::Store& store,
             crypto::Keyring& keyring, crypto::TokenService& token);
  ApiMetrics(const ApiMetrics&) = delete;
  ApiMetrics& operator=(const ApiMetrics&) = delete;

  // TrackRequests registers the per-route request series of `router` and
  // returns the table for HttpServer::Start (owned by this).
  // REQUIRES: every route is added; called once.
  RequestMetrics* TrackRequests(const Router& router);
  // TrackServer makes scrapes read `server`'s connection counters (zero
  // until then). REQUIRES: `server` outlives this, or TrackServer(nullptr)
  // is called before it goes.
  void TrackServer(const HttpServer* server);

  // CountDecrypt counts one decrypt decision: the outcome and reason of a
  // decrypt route's audit record (one per name), or of a decrypt request
  // refused at authentication (kDenied, "unauthenticated"). Reasons
  // outside the fixed set count as "other". Lock-free, no allocation.
  void CountDecrypt(audit::Outcome outcome, std::string_view reason);

  // TrackCluster registers the strongroom_cluster_* families (cluster mode,
  // issue 18), read from `probe` at scrape time. Called at most once.
  void TrackCluster(const ClusterProbe& probe);
  const MetricsOptions& options() const { return options_; }
  // Exposition is the scrape body (MetricsRegistry::Exposition).
  std::string Exposition() const { return registry_.Exposition(); }

 private:
  void AddServerFamilies();
  void AddAuditFamilies(audit::AuditLog& audit);
  void AddCryptoFamilies(crypto::Keyring& keyring, crypto::TokenService& token);
  void AddStoreFamilies(storage::Store& store);
  void AddDecryptFamily();
  // ServerCounter reads one field of the tracked server's counters.
  double ServerCounter(std::uint64_t ServerCounters::*field) const;

  const MetricsOptions options_;
  MetricsRegistry registry_;
  std::unique_ptr<RequestMetrics> requests_;
  std::atomic<const HttpServer*> server_{nullptr};
  struct DecryptSeries {
    audit::Outcome outcome;
    std::string_view reason;
    Counter* counter;
  };
  std::vector<DecryptSeries> decrypts_;  // fixed at construction
};

}  // namespace strongroom::api

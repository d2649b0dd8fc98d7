#include "api/core/api_metrics.h"

#include <span>

namespace strongroom::api {
namespace {

using audit::Outcome;

// The decrypt label set: fixed and small. A reason not listed counts as
// its outcome's "other".
struct DecryptLabel {
  Outcome outcome;
  std::string_view reason;
};
constexpr DecryptLabel kDecryptLabels[] = {
    {Outcome::kAllowed, "ok"},
    {Outcome::kAllowed, "other"},
    {Outcome::kDenied, "no_permission"},
    {Outcome::kDenied, "no_value_permission"},
    {Outcome::kDenied, "not_on_allowlist"},
    {Outcome::kDenied, "empty_allowlist"},
    {Outcome::kDenied, "unauthenticated"},
    {Outcome::kDenied, "other"},
    {Outcome::kFailed, "unknown_secret"},
    {Outcome::kFailed, "unknown_namespace"},
    {Outcome::kFailed, "other"},
};

// Snapshot turns counts per bucket and a sum into a HistogramSnapshot.
template <std::size_t N>
HistogramSnapshot Snapshot(const std::array<std::uint64_t, N>& counts, double sum) {
  return HistogramSnapshot{std::vector<std::uint64_t>(counts.begin(), counts.end()), sum};
}

}  // namespace

ApiMetrics::ApiMetrics(MetricsOptions options, audit::AuditLog& audit, storage::Store& store,
                       crypto::Keyring& keyring, crypto::TokenService& token)
    : options_(std::move(options)) {
  AddServerFamilies();
  AddDecryptFamily();
  AddAuditFamilies(audit);
  AddCryptoFamilies(keyring, token);
  AddStoreFamilies(store);
}

RequestMetrics* ApiMetrics::TrackRequests(const Router& router) {
  requests_ = std::make_unique<RequestMetrics>(registry_, router);
  return requests_.get();
}

void ApiMetrics::TrackServer(const HttpServer* server) {
  server_.store(server, std::memory_order_release);
}

double ApiMetrics::ServerCounter(std::uint64_t ServerCounters::*field) const {
  const HttpServer* server = server_.load(std::memory_order_acquire);
  return server == nullptr ? 0.0 : static_cast<double>(server->counters().*field);
}

void ApiMetrics::AddServerFamilies() {
  auto read = [this](std::uint64_t ServerCounters::*field) {
    return [this, field] { return ServerCounter(field); };
  };
  registry_.AddGaugeFunction("strongroom_tls_connections_open",
                             "Client connections open now (in handshake or established).", {},
                             read(&ServerCounters::open_connections));
  registry_.AddGaugeFunction("strongroom_tls_connections_handshaking",
                             "Client connections still in their TLS handshake now.", {},
                             read(&ServerCounters::handshaking_connections));
  registry_.AddCounterFunction("strongroom_tls_connections_accepted_total",
                               "TCP connections accepted.", {}, read(&ServerCounters::accepted));
  registry_.AddCounterFunction(
      "strongroom_tls_connections_refused_total",
      "Connections closed at once because the connection or handshake cap was reached.", {},
      read(&ServerCounters::refused_over_capacity));
  registry_.AddCounterFunction(
      "strongroom_tls_connections_shed_total",
      "Idle keep-alive connections closed to admit a new one at the connection cap.", {},
      read(&ServerCounters::shed_idle));
  const std::string_view handshakes_help =
      "TLS handshakes by result (failed includes timeouts and refused certificates).";
  registry_.AddCounterFunction("strongroom_tls_handshakes_total", handshakes_help,
                               {{"result", "completed"}},
                               read(&ServerCounters::handshakes_completed));
  registry_.AddCounterFunction("strongroom_tls_handshakes_total", handshakes_help,
                               {{"result", "failed"}}, read(&ServerCounters::handshakes_failed));
  registry_.AddCounterFunction(
      "strongroom_http_deferred_offloaded_total",
      "Requests begun on an I/O thread that moved to the handler pool (a cold data key).", {},
      read(&ServerCounters::deferred_offloaded));
}

void ApiMetrics::AddDecryptFamily() {
  for (const DecryptLabel& label : kDecryptLabels) {
    Counter& counter = registry_.AddCounter(
        "strongroom_decrypts_total",
        "Decrypt decisions, one per secret name asked for, by audit outcome and reason.",
        {{"outcome", std::string(audit::OutcomeName(label.outcome))},
         {"reason", std::string(label.reason)}});
    decrypts_.push_back(DecryptSeries{label.outcome, label.reason, &counter});
  }
}

void ApiMetrics::CountDecrypt(audit::Outcome outcome, std::string_view reason) {
  Counter* other = nullptr;
  for (const DecryptSeries& series : decrypts_) {
    if (series.outcome != outcome) continue;
    if (series.reason == reason) return series.counter->Increment();
    if (series.reason == "other") other = series.counter;
  }
  if (other != nullptr) other->Increment();
}

void ApiMetrics::AddAuditFamilies(audit::AuditLog& audit) {
  audit::AuditLog* log = &audit;
  auto stat = [log](std::uint64_t audit::AuditStats::*field) {
    return [log, field] { return static_cast<double>(log->stats().*field); };
  };
  registry_.AddCounterFunction("strongroom_audit_records_total",
                               "Audit log lines written by this process (records and checkpoints).",
                               {}, stat(&audit::AuditStats::records));
  registry_.AddCounterFunction("strongroom_audit_checkpoints_total",
                               "Signed audit checkpoints written.", {},
                               stat(&audit::AuditStats::checkpoints));
  registry_.AddCounterFunction("strongroom_audit_write_failures_total",
                               "Audit group writes that failed (their requests were refused).", {},
                               stat(&audit::AuditStats::failures));
  registry_.AddHistogramFunction("strongroom_audit_group_commit_records",
                                 "Audit lines per group commit (one write and one fdatasync each).",
                                 audit::kGroupSizeBounds, {}, [log] {
                                   audit::AuditStats s = log->stats();
                                   return Snapshot(s.group_size_counts,
                                                   static_cast<double>(s.records));
                                 });
  registry_.AddHistogramFunction(
      "strongroom_audit_fsync_duration_seconds", "Time of each fdatasync of the audit log.",
      audit::kFsyncSecondsBounds, {}, [log] {
        audit::AuditStats s = log->stats();
        return Snapshot(s.fsync_counts, static_cast<double>(s.fsync_micros_total) / 1e6);
      });
  registry_.AddGaugeFunction(
      "strongroom_audit_free_bytes",
      "Free bytes on the audit log's file system (for an unprivileged user), at the last check.",
      {}, stat(&audit::AuditStats::free_bytes));
  registry_.AddGaugeFunction(
      "strongroom_audit_low_space",
      "1 while the audit log's file system is below the free-space watermark, else 0.", {},
      [log] { return log->stats().low_space ? 1.0 : 0.0; });
  registry_.AddGaugeFunction(
      "strongroom_audit_writable",
      "1 while the audit log accepts records (else audited requests get 503), else 0.", {},
      [log] { return log->healthy() ? 1.0 : 0.0; });
  registry_.AddGaugeFunction(
      "strongroom_audit_tampered",
      "1 once the audit log was found altered outside Strongroom (writing and signing stopped "
      "until restart), else 0.",
      {}, [log] { return log->stats().tampered ? 1.0 : 0.0; });
  // The deferred start-up verification (issue 19, audit_log.h): the log's
  // lines before the anchored checkpoint and the store's full re-MAC.
  registry_.AddGaugeFunction(
      "strongroom_startup_verification_pending",
      "1 while the start-up verification of the audit log and the store runs after the server "
      "turned ready (nothing is signed or anchored until it passes), else 0.",
      {}, [log] {
        return log->stats().startup_verification == audit::StartupVerification::kPending ? 1.0
                                                                                         : 0.0;
      });
  registry_.AddGaugeFunction(
      "strongroom_startup_verification_failed",
      "1 once the start-up verification of the audit log or the store failed (the server fails "
      "closed until restart), else 0.",
      {}, [log] {
        return log->stats().startup_verification == audit::StartupVerification::kFailed ? 1.0 : 0.0;
      });
  registry_.AddCounterFunction("strongroom_trust_anchor_writes_total",
                               "Trust anchor generations written to the token.", {},
                               stat(&audit::AuditStats::anchors_written));
  registry_.AddCounterFunction("strongroom_trust_anchor_write_failures_total",
                               "Trust anchor writes that failed (retried at the next interval).",
                               {}, stat(&audit::AuditStats::anchor_failures));
  registry_.AddGaugeFunction(
      "strongroom_trust_anchor_unanchored_records",
      "Audit records after the head the token anchors: the window a rollback of files could "
      "still remove unnoticed.",
      {}, [log] {
        audit::AuditStats s = log->stats();
        std::uint64_t head = log->head().seq;
        return static_cast<double>(head > s.anchored_seq ? head - s.anchored_seq : 0);
      });
}

void ApiMetrics::AddCryptoFamilies(crypto::Keyring& keyring, crypto::TokenService& token) {
  crypto::Keyring* ring = &keyring;
  auto keys = [ring](std::uint64_t crypto::KeyringCounters::*field) {
    return [ring, field] { return static_cast<double>(ring->counters().*field); };
  };
  registry_.AddCounterFunction("strongroom_data_key_cache_hits_total",
                               "Data-key cache lookups that found the key unwrapped.", {},
                               keys(&crypto::KeyringCounters::cache_hits));
  registry_.AddCounterFunction(
      "strongroom_data_key_cache_misses_total",
      "Data-key cache lookups that did not (the decrypt is suspended while the pool unwraps it).",
      {}, keys(&crypto::KeyringCounters::cache_misses));
  registry_.AddCounterFunction("strongroom_data_key_unwraps_total",
                               "Data keys unwrapped through the token.", {},
                               keys(&crypto::KeyringCounters::unwraps));
  registry_.AddCounterFunction("strongroom_data_keys_created_total",
                               "Data keys generated (one per namespace per UTC day in use).", {},
                               keys(&crypto::KeyringCounters::data_keys_created));
  crypto::TokenService* t = &token;
  auto tokens = [t](std::uint64_t crypto::TokenCounters::*field) {
    return [t, field] { return static_cast<double>(t->counters().*field); };
  };
  registry_.AddCounterFunction("strongroom_token_operations_total",
                               "PKCS#11 operations run on the token (readiness probes included).",
                               {}, tokens(&crypto::TokenCounters::operations));
  registry_.AddCounterFunction("strongroom_token_operation_errors_total",
                               "PKCS#11 operations that returned an error.", {},
                               tokens(&crypto::TokenCounters::operation_errors));
  registry_.AddCounterFunction("strongroom_token_recoveries_total",
                               "Times the token's sessions were re-opened after it was lost.", {},
                               tokens(&crypto::TokenCounters::recoveries));
  registry_.AddCounterFunction("strongroom_token_sessions_opened_total",
                               "PKCS#11 sessions opened and logged in.", {},
                               tokens(&crypto::TokenCounters::sessions_opened));
}

void ApiMetrics::TrackCluster(const ClusterProbe& probe) {
  if (!probe.enabled()) return;
  auto state = probe.state;
  registry_.AddGaugeFunction(
      "strongroom_cluster_staleness_seconds",
      "Seconds since this node's replica was last known to hold etcd's latest revision.", {},
      [state] { return static_cast<double>(state().staleness.count()) / 1000.0; });
  registry_.AddGaugeFunction("strongroom_cluster_applied_revision",
                             "The etcd revision this node's replica applied last.", {},
                             [state] { return static_cast<double>(state().applied_revision); });
  registry_.AddGaugeFunction(
      "strongroom_cluster_replica_healthy",
      "1 while this node's replica applies etcd's changes; 0 when it stopped (a batch that did "
      "not verify) or waits to resume.",
      {}, [state] { return state().healthy ? 1.0 : 0.0; });
}

void ApiMetrics::AddStoreFamilies(storage::Store& store) {
  storage::Store* s = &store;
  auto usage = [s](std::uint64_t storage::MapUsage::*field) {
    return [s, field] {
      StatusOr<storage::MapUsage> read = s->map_usage();
      return read.has_value() ? static_cast<double>((*read).*field) : 0.0;
    };
  };
  registry_.AddGaugeFunction("strongroom_store_map_size_bytes", "Size of the LMDB map.", {},
                             usage(&storage::MapUsage::map_size_bytes));
  registry_.AddGaugeFunction(
      "strongroom_store_map_used_bytes",
      "Bytes of the LMDB map up to its last page in use (freelist pages included).", {},
      usage(&storage::MapUsage::used_bytes));
  registry_.AddGaugeFunction(
      "strongroom_store_integrity_failed",
      "1 once a record was found changed outside Strongroom while the server ran (reads of "
      "records fail until restart), else 0.",
      {}, [s] { return s->integrity_problem().ok() ? 0.0 : 1.0; });
  registry_.AddGaugeFunction("strongroom_store_tag_index_records",
                             "Records whose tag the server keeps in memory to check every read.",
                             {}, [s] {
                               return static_cast<double>(s->tag_index_size().live_records);
                             });
}

}  // namespace strongroom::api

// api/metrics/metrics.h — the Prometheus side of the API: a registry of
// counters, gauges and histograms and its text exposition. Read this first.
//
//   metrics_registry.h  the registry: series updated in place (lock-free on
//                       the request path) or read from a function at scrape
//                       time, and the text exposition format
//
// No I/O and no Strongroom semantics: which families exist is decided by
// the callers (the TLS front's request table, the API's own counters).
// api/metrics depends on base/ only, so the front can count responses
// without knowing the rest of the API.
#pragma once

#include "api/metrics/metrics_registry.h"  // IWYU pragma: export

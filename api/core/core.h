// api/core/core.h — the request core every route is built on: how a request
// starts (snapshot, authentication, the path's names, the permission), how
// it becomes an audit record, how an error becomes a response, and the
// API's own counters. Read this first; api/api.h wires it to the routes.
//
//   api_context.h       what every handler shares (ApiContext) and the
//                       starts of a request: StartSession, StartNamespaced,
//                       Check, the list parameters
//   audit_scope.h       a request's audit record: AuditedRoute writes it
//                       before the response leaves, or answers 503
//   api_error.h         what a handler returns: ApiResult, a response or
//                       an ApiError (a Status with typed details: wire
//                       reason, audit reason, retry-after, the object)
//   errors.h            the error boundary: the one place a result becomes
//                       the HTTP status, the body of the request's API
//                       (Kubernetes, Dapr, {"message"}), the headers and
//                       the audit outcome
//   api_metrics.h       Strongroom's Prometheus families (decrypts, store,
//                       keyring, token, audit log, connections)
//   log.h               structured logs, one JSON object per line
//
// api/core depends on base/, policies/, storage/, crypto/, audit/ and on
// api/http, api/wire, api/metrics and api/auth. It names no route: the
// route folders (api/grafana, api/sensu, api/admin, api/audit, api/ops)
// depend on it, never the other way.
#pragma once

#include "api/core/api_context.h"       // IWYU pragma: export
#include "api/core/api_error.h"         // IWYU pragma: export
#include "api/core/api_metrics.h"       // IWYU pragma: export
#include "api/core/audit_scope.h"       // IWYU pragma: export
#include "api/core/errors.h"            // IWYU pragma: export
#include "api/core/log.h"               // IWYU pragma: export

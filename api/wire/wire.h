// api/wire/wire.h — the request-text rules of the API: what a name, a
// label, a selector, a query parameter, a list cursor or a JSON member must
// look like, and the Status bodies errors are written as. Read this first.
//
//   k8s_names.h       Kubernetes names of objects, namespaces and labels
//   label_selector.h  Kubernetes label selectors (?labelSelector=)
//   sensu_selector.h  Sensu's labelSelector and fieldSelector expressions
//   query_string.h    percent-decoding of query names and values
//   rfc3339_time.h    RFC 3339 times in query parameters
//   list_cursor.h     the signed `continue` tokens of list endpoints
//   json_fields.h     strict reading of request JSON objects
//   k8s_status.h      the Kubernetes Status and {"message"} bodies
//
// Pure functions and values: no I/O, no sockets, no store. api/wire depends
// on base/ only (and nlohmann/json, OpenSSL for the cursor's HMAC), so the
// rules are tested without a server and any route may use them.
#pragma once

#include "api/wire/json_fields.h"     // IWYU pragma: export
#include "api/wire/k8s_names.h"       // IWYU pragma: export
#include "api/wire/k8s_status.h"      // IWYU pragma: export
#include "api/wire/label_selector.h"  // IWYU pragma: export
#include "api/wire/list_cursor.h"     // IWYU pragma: export
#include "api/wire/query_string.h"    // IWYU pragma: export
#include "api/wire/rfc3339_time.h"    // IWYU pragma: export
#include "api/wire/sensu_selector.h"  // IWYU pragma: export

// audit/audit.h — Strongroom's audit log (SPEC section 8). Read this first.
//
//   record.h       one record and the exact bytes of its line (the format
//                  an auditor's own verifier follows)
//   audit_log.h    the log: one sequencer thread, group commit, signed
//                  checkpoints, rotation, fail-closed waits, store hooks,
//                  start-up recovery and the rollback check
//   audit_sink.h   where the bytes go (fault injection for tests)
//   verifier.h     offline verification with only the files and the key
//   log_files.h    the files of a log directory and reading them back
//   query.h        filtering records for the auditor API and `audit show`
//   event_summary.h  counts per hour, action and outcome, and the latest
//                  events of some actions (the web view's overview and keys)
//
// audit/ depends on base/, storage/ (the hooks, the store's state) and
// crypto/ (checkpoint signatures); it knows nothing of HTTP.
#pragma once

#include "audit/audit_log.h"
#include "audit/audit_sink.h"
#include "audit/event_summary.h"
#include "audit/log_files.h"
#include "audit/query.h"
#include "audit/record.h"
#include "audit/verifier.h"

// api/decrypt/decrypt.h — the one decrypt pipeline (SPEC 6.2, issue 19):
// every way a value leaves the appliance — Grafana's single and batch
// decrypt, Dapr's get and bulk, Sensu's resolve — runs the same stages, in
// SPEC 6.2's order, each once:
//   1. authenticate the service (its verified client certificate), once;
//   2. read (the endpoint's own): validate the path, authorize each name,
//      read its record, check its `decrypters` allowlist and parse its
//      envelope (once: the data-key id it needs comes from that parse);
//   3. unseal the values whose data key is cached, on the I/O thread;
//      when a key is not cached the request is suspended — its state (the
//      session, the records, the parsed envelopes, the values unsealed so
//      far) moves to the handler pool, which unwraps the missing keys
//      through the token and resumes the request at this stage: nothing
//      before it runs again;
//   4. format (the endpoint's own): the body in its API's shape, and one
//      audit record per name with its own outcome and reason;
//   5. audit: the records are handed to the audit sequencer, and the
//      response leaves once they are durable (SPEC 8), or a 503 replaces it.
// Files: decrypt_pipeline.cc (the stages, suspend and resume),
// decrypt_target.cc (verdicts, a stored secure value as a target, the
// per-name record), batch_names.cc (a batch body's names).
//
// api/decrypt depends on api/core (and through it api/http, api/auth,
// api/wire), storage/, crypto/, policies/, audit/ and base/. The route
// folders that serve decrypts (api/grafana, api/sensu) depend on it and
// give it their read and format stages; it names no route folder.
// Thread-safety: a DecryptRequest belongs to one request, on one thread at
// a time (the I/O thread, then, if suspended, one handler-pool thread);
// DecryptRoute's handler and DecryptStatsNow are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/core/api_context.h"
#include "api/core/api_error.h"
#include "api/core/audit_scope.h"
#include "api/http/router.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/envelope.h"
#include "storage/secure_value_record.h"

namespace strongroom::api {

// Verdict is the outcome of SPEC 6.2's checks for one name.
enum class Verdict { kAllowed, kNoPermission, kUnknown, kNotOnAllowlist, kError };

struct Decision {
  Verdict verdict = Verdict::kError;
  // The audit reason: ok, no_permission, unknown_namespace, unknown_secret,
  // empty_allowlist, not_on_allowlist, or the error's code (endpoints may
  // add their own, e.g. unknown_provider, or no_value_permission when a
  // Sensu resolve lacks the decrypt permission on the secure value).
  std::string reason;
  std::optional<SecretBytes> value;  // kAllowed, once unsealed
  Status error = Status::Ok();       // kError only
};

// Failed is the decision for an error (its code name is the reason).
Decision Failed(const Status& error);

// DecisionError is the error a refused decision answers: kForbidden with
// `forbidden` (no permission, not on the allowlist: one message, so a
// refusal never says whether the name exists), kNotFound with `not_found`
// (unknown), else the error's own (ApiError::FromStatus), with the
// decision's reason as the audit reason.
// REQUIRES: decision.verdict is not kAllowed.
ApiError DecisionError(const Decision& decision, std::string forbidden, std::string not_found);

// SealedValue is a stored secure value that passed every check and waits
// to be unsealed: its record, decoded once, and its envelope, parsed once.
struct SealedValue {
  std::string namespace_name, name;  // the secure value's (Sensu: its spec.id)
  storage::SecureValueRecord record;
  std::uint64_t generation = 0;   // the stored record's (bound into the AAD)
  crypto::EnvelopeView envelope;  // views into record.envelope (heap bytes:
                                  // they stay put when the record moves)
};

// DecryptTarget is one name of a decrypt request through the stages.
struct DecryptTarget {
  std::string name;   // as asked for: answered and audited under it
  Decision decision;  // kAllowed: `sealed` until unsealed, then `value`
  std::optional<SealedValue> sealed;
  // Sensu: a provider that failed; non-empty: answer 502 with this message.
  std::string provider_problem;
};

// OpenStoredValue checks the stored secure value `raw` (`ns`/`name`) for
// `service` — decodes it, checks its `decrypters` allowlist (SECURITY: an
// empty list allows nobody, SPEC 4) and parses its envelope — and returns
// the target `target_name`: kAllowed and sealed, or refused, or failed.
DecryptTarget OpenStoredValue(std::string target_name, const Principal& service,
                              std::string_view ns, std::string_view name,
                              const storage::Record& raw);
// SealTarget is OpenStoredValue's last step for a record decoded and found
// on the allowlist already (Dapr bulk filters while it scans).
DecryptTarget SealTarget(std::string target_name, std::string_view ns, std::string_view name,
                         storage::SecureValueRecord record, std::uint64_t generation);

// DecryptRequest is a decrypt's state, which a suspension carries to the
// handler pool and back.
struct DecryptRequest {
  std::shared_ptr<HttpRequest> http;
  AuditScope scope;
  std::optional<Session> session;  // set before the read stage
  std::string ns;                  // the path's namespace (Dapr: store)
  std::string name;                // the path's name; empty for a collection
  std::string_view kind;           // the endpoint's audit resource kind
  std::vector<DecryptTarget> targets;

  // RecordName adds `target`'s audit record, answered `answer` (its HTTP
  // status; a single-name request's own answer) or `success` (one name
  // inside a batch or bulk answer). The request's event (actor, request id)
  // is copied, or moved in by a single-name request (`last`).
  void RecordName(const DecryptTarget& target, const ApiResult& answer, bool last = false);
  void RecordName(const DecryptTarget& target, Success success);
  void RecordName(const DecryptTarget& target, const ApiError& error);
};

// DecryptEndpoint is what differs between the five entry points.
struct DecryptEndpoint {
  std::string_view action;           // audited, and the permission checked
  std::string_view kind;             // the audit record's resource kind
  std::string_view namespace_param;  // ":ns" or ":store"
  std::string_view name_param;       // ":name", or empty for a collection
  // read (stage 2) runs after authentication: validates the path and
  // fills request.targets; an error ends the request, answered as is.
  // It must not block: it runs on an I/O thread.
  std::optional<ApiError> (*read)(ApiContext& context, DecryptRequest& request);
  // format (stage 4) answers once every allowed target holds its value or
  // its failure, and records each name (RecordName).
  ApiResult (*format)(ApiContext& context, DecryptRequest& request);
};

// DecryptRoute is the kDeferred handler running `endpoint` through the
// pipeline. `endpoint` must outlive the router (a static).
// SECURITY: values unsealed for an answer that is not sent (a full pool,
// a refused record) are wiped with their SecretBytes; the response body is
// wiped by FinishDeferred when its records cannot be written.
DeferredHandler DecryptRoute(ApiContext& context, const DecryptEndpoint& endpoint);

// DecryptStats counts the pipeline's stages over the process's life (a
// test seam, and a proof that nothing runs twice: a suspended decrypt is
// authenticated and read once).
struct DecryptStats {
  std::uint64_t started = 0;        // requests entering the pipeline
  std::uint64_t authenticated = 0;  // service authentications
  std::uint64_t read = 0;           // read stages run
  std::uint64_t suspended = 0;      // requests moved to the pool for a key
  std::uint64_t resumed = 0;        // suspended requests resumed there
};
DecryptStats DecryptStatsNow();

// BatchNames parses a batch decrypt body, {"names": [...]}: 1..100 valid
// object names; a name given twice is answered once. kInvalidArgument
// otherwise. (Public for the fuzz target fuzz/batch_decrypt_json.cc.)
StatusOr<std::vector<std::string>> BatchNames(const std::string& body);

}  // namespace strongroom::api

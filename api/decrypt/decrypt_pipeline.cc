// The decrypt pipeline's stages, and the suspension of a request whose data
// key is not cached (api/decrypt/decrypt.h).
#include <algorithm>
#include <atomic>

#include "api/core/errors.h"
#include "api/decrypt/decrypt.h"

namespace strongroom::api {
namespace {

struct Counters {
  std::atomic<std::uint64_t> started{0}, authenticated{0}, read{0}, suspended{0}, resumed{0};
};

Counters& Stats() {
  static Counters counters;
  return counters;
}

void Count(std::atomic<std::uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

// Run is a request in the pipeline: on the I/O thread, then, if suspended,
// in the handler-pool task that resumes it (shared by both).
struct Run {
  Run(ApiContext& context, const DecryptEndpoint& endpoint, Responder respond)
      : context(context), endpoint(endpoint), respond(std::move(respond)) {}
  ApiContext& context;
  const DecryptEndpoint& endpoint;
  Responder respond;
  DecryptRequest request;
};

crypto::ValueBinding BindingOf(const SealedValue& sealed) {
  return crypto::ValueBinding{sealed.namespace_name, sealed.name, sealed.record.uid,
                              sealed.generation};
}

// Settle ends `target`'s unsealing with its value or its failure.
void Settle(DecryptTarget& target, StatusOr<SecretBytes> value) {
  target.sealed.reset();
  if (!value.has_value()) {
    target.decision = Failed(value.error());
    return;
  }
  target.decision.value.emplace(std::move(*value));
}

// SettleIfCached settles `target` (still sealed) when its data key is
// cached, or when the lookup itself failed, and says whether it did.
bool SettleIfCached(ApiContext& context, DecryptTarget& target) {
  const SealedValue& sealed = *target.sealed;
  StatusOr<std::optional<SecretBytes>> cached =
      context.keyring.UnsealIfCached(BindingOf(sealed), sealed.envelope);
  if (!cached.has_value()) {
    Settle(target, std::unexpected(cached.error()));
    return true;
  }
  if (!cached->has_value()) return false;
  Settle(target, std::move(**cached));
  return true;
}

// Authenticate and read: stages 1 and 2. An error ends the request.
std::optional<ApiError> AuthenticateAndRead(Run& run) {
  DecryptRequest& request = run.request;
  const DecryptEndpoint& endpoint = run.endpoint;
  request.ns = std::string(request.http->Param(endpoint.namespace_param));
  if (!endpoint.name_param.empty())
    request.name = std::string(request.http->Param(endpoint.name_param));
  request.kind = endpoint.kind;
  request.scope.Describe(endpoint.action, request.ns, endpoint.kind, request.name);
  Count(Stats().authenticated);
  ApiOr<Session> session = StartServiceSession(run.context, *request.http, request.scope);
  if (!session.has_value()) return std::move(session.error());
  request.session.emplace(std::move(*session));
  Count(Stats().read);
  return endpoint.read(run.context, request);
}

// UnsealCached is stage 3 on the I/O thread: it unseals every target whose
// data key is cached and returns the ids of the keys that are not (empty,
// and nothing allocated, when every key is warm).
std::vector<std::string> UnsealCached(ApiContext& context, DecryptRequest& request) {
  std::vector<std::string> missing;
  for (DecryptTarget& target : request.targets) {
    if (!target.sealed) continue;
    if (SettleIfCached(context, target)) continue;
    const std::string_view id = target.sealed->envelope.data_key_id;
    if (std::find(missing.begin(), missing.end(), id) == missing.end()) missing.emplace_back(id);
  }
  return missing;
}

// UnsealResumed is stage 3 on the handler pool, for a suspended request:
// it loads the `missing` data keys through the token, then unseals the
// targets still sealed. Nothing before this stage runs again.
void UnsealResumed(ApiContext& context, DecryptRequest& request,
                   const std::vector<std::string>& missing) {
  std::vector<Status> loaded;
  loaded.reserve(missing.size());
  for (const std::string& id : missing) loaded.push_back(context.keyring.LoadDataKey(id));
  for (DecryptTarget& target : request.targets) {
    if (!target.sealed) continue;
    const SealedValue& sealed = *target.sealed;
    const auto at = std::find(missing.begin(), missing.end(), sealed.envelope.data_key_id);
    if (at != missing.end() && !loaded[at - missing.begin()].ok()) {
      Settle(target, std::unexpected(loaded[at - missing.begin()]));
      continue;
    }
    // The key was just loaded; should it have left the cache meanwhile,
    // this thread may wait for the token again.
    if (!SettleIfCached(context, target)) {
      Settle(target, context.keyring.Unseal(BindingOf(sealed), sealed.envelope));
    }
  }
}

// Finish is stage 5: the records, then the answer once they are durable.
// Called once per request (it gives the Responder away).
void Finish(Run& run, ApiResult result) {
  FinishDeferred(run.context, run.request.http, run.request.scope, std::move(result),
                 std::move(run.respond));
}

}  // namespace

DeferredHandler DecryptRoute(ApiContext& context, const DecryptEndpoint& endpoint) {
  ApiContext* c = &context;
  const DecryptEndpoint* e = &endpoint;
  return [c, e](std::shared_ptr<HttpRequest> http, Responder respond, const Offload& offload) {
    Count(Stats().started);
    auto run = std::make_shared<Run>(*c, *e, std::move(respond));
    run->request.http = std::move(http);
    run->request.scope = BeginAuditScope(*run->request.http);
    if (std::optional<ApiError> refused = AuthenticateAndRead(*run)) {
      return Finish(*run, std::move(*refused));
    }
    std::vector<std::string> missing = UnsealCached(*c, run->request);
    if (missing.empty()) return Finish(*run, e->format(*c, run->request));
    // Suspended: the request's state moves to the pool, which may wait for
    // the token, and resumes at the unsealing.
    Count(Stats().suspended);
    const bool queued = offload([run, missing = std::move(missing)] {
      Count(Stats().resumed);
      UnsealResumed(run->context, run->request, missing);
      Finish(*run, run->endpoint.format(run->context, run->request));
    });
    if (!queued) {
      // Nothing was answered for any name: no record, as for any request
      // the server turns away; the values unsealed so far die with `run`.
      const HttpRequest& request = *run->request.http;
      run->respond(ErrorToResponse(ServerRefusalApi(request.path), request.request_id,
                                   ApiError::Unavailable("server busy, retry later")));
    }
  };
}

DecryptStats DecryptStatsNow() {
  Counters& counters = Stats();
  return DecryptStats{counters.started.load(), counters.authenticated.load(), counters.read.load(),
                      counters.suspended.load(), counters.resumed.load()};
}

}  // namespace strongroom::api

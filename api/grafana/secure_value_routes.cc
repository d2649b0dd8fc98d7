// The SecureValue API (SPEC 6.1): create, list, get, replace, delete under
// /apis/secret.grafana.app/v1beta1/namespaces/{ns}/securevalues.
#include <openssl/rand.h>

#include <cstdio>

#include "api/auth/authorizer.h"
#include "api/core/api_context.h"
#include "api/grafana/grafana_routes.h"
#include "api/grafana/secure_value_json.h"
#include "api/wire/k8s_names.h"
#include "api/wire/k8s_status.h"
#include "api/wire/label_selector.h"
#include "storage/secure_value_record.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using storage::Table;

constexpr std::string_view kCollection =
    "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues";
constexpr std::string_view kItem =
    "/apis/secret.grafana.app/v1beta1/namespaces/:ns/securevalues/:name";
constexpr std::string_view kKind = "securevalues";
constexpr std::size_t kDefaultListLimit = 500;
constexpr int kWriteAttempts = 3;

StatusOr<std::string> NewUid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) return std::unexpected(Status::Internal("RAND_bytes failed"));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(text);
}

ApiError NotFound(const HttpRequest& request) {
  std::string name(request.Param("name"));
  return ApiError::NotFound("securevalues \"" + name + "\" not found").About(name, kKind);
}

using Begun = NamespacedSession;

// Begin starts a request on secure values (StartNamespaced).
ApiOr<Begun> Begin(ApiContext& context, HttpRequest& request, AuditScope& scope,
                   std::string_view action, bool with_name, std::string_view audit_action = {}) {
  return StartNamespaced(context, request, scope,
                         {action, audit_action, kKind, with_name, ValidateObjectName});
}

ApiResult Create(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "secret.securevalues:create", false);
  if (!begun.has_value()) return begun.error();
  Session& session = begun->session;
  const std::string& ns = begun->ns;
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<SecureValueInput> input = ParseSecureValue(request.body(), ns, true, "");
  if (!input.has_value()) return input.error();
  if (input->name.empty()) {
    StatusOr<std::string> generated = GenerateObjectName(input->generate_name);
    if (!generated.has_value()) return generated.error();
    input->name = *generated;
  }
  scope.event.resource.name = input->name;
  if (auto denied =
          Check(context, request, session, {"secret.securevalues:create", ns, input->name})) {
    return *denied;
  }
  storage::SecureValueRecord record;
  record.namespace_name = ns;
  record.name = input->name;
  StatusOr<std::string> uid = NewUid();
  if (!uid.has_value()) return uid.error();
  record.uid = *uid;
  record.description = input->description;
  record.labels = input->labels;
  record.decrypters = input->decrypters;
  record.created_micros = UnixMicros(context.clock.Now());
  record.created_by = std::string(session.principal.KindName()) + ":" + session.principal.name;
  StatusOr<crypto::SealedValue> sealed =
      context.keyring.Seal(crypto::ValueBinding{record.namespace_name, record.name, record.uid, 1},
                           input->value.RevealSecret());
  if (!sealed.has_value()) return sealed.error();
  record.envelope = std::move(sealed->envelope);
  std::string key = storage::SecureValueKey(ns, record.name);
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, Success::kCreated, [&](storage::WriteTxn& txn) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint64_t next, txn.NextGeneration(Table::kSecureValues, key));
        if (next != 1)
          return Status::AlreadyExists("securevalues \"" + record.name + "\" already exists");
        record.resource_version = txn.resource_version();
        return ToStatus(
            txn.Put(Table::kSecureValues, key, storage::EncodeSecureValueRecord(record)));
      });
  if (!written.has_value()) {
    return ApiError::FromStatus(written.error()).About(record.name, kKind);
  }
  return JsonResponse(Success::kCreated, RenderSecureValue(record));
}

StatusOr<storage::SecureValueRecord> Load(const storage::ReadTxn& txn, std::string_view ns,
                                          std::string_view name, std::uint64_t* generation) {
  SR_ASSIGN_OR_RETURN(storage::Record raw,
                      txn.Get(Table::kSecureValues, storage::SecureValueKey(ns, name)));
  if (generation != nullptr) *generation = raw.generation;
  return storage::DecodeSecureValueRecord(raw.value);
}

ApiResult Get(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "secret.securevalues:read", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = *begun;
  StatusOr<storage::SecureValueRecord> record = Load(session.txn, ns, name, nullptr);
  if (!record.has_value()) {
    if (record.error().code() == StatusCode::kNotFound) return NotFound(request);
    return record.error();
  }
  return JsonResponse(Success::kOk, RenderSecureValue(*record));
}

ApiResult List(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun =
      Begin(context, request, scope, "secret.securevalues:read", false, "secret.securevalues:list");
  if (!begun.has_value()) return begun.error();
  Session& session = begun->session;
  const std::string& ns = begun->ns;

  auto bad_query = [](const Status& status) { return ApiError::BadRequest(status.message()); };
  StatusOr<std::optional<std::string>> selector_text = QueryParam(request, "labelSelector");
  if (!selector_text.has_value()) return bad_query(selector_text.error());
  StatusOr<LabelSelector> selector = LabelSelector::Parse(selector_text->value_or(""));
  if (!selector.has_value()) return bad_query(selector.error());
  StatusOr<std::size_t> limit = ListLimit(request, kDefaultListLimit);
  if (!limit.has_value()) return bad_query(limit.error());
  StatusOr<std::string> after = ListAfter(context, request, kKind, ns);
  if (!after.has_value()) return bad_query(after.error());

  std::vector<storage::SecureValueRecord> items;
  std::string last_key;
  bool more = false;
  Status failure = Status::Ok();
  std::string prefix = storage::SecureValueKey(ns, "");
  Status scanned = session.txn.Scan(
      Table::kSecureValues, prefix, after->empty() ? "" : storage::SecureValueKey(ns, *after),
      [&](std::string_view key, const storage::Record& raw) {
        StatusOr<storage::SecureValueRecord> record = storage::DecodeSecureValueRecord(raw.value);
        if (!record.has_value()) {
          failure = record.error();
          return false;
        }
        if (!selector->Matches(record->labels)) return true;
        StatusOr<bool> visible = Authorize(*session.policy, session.txn, session.principal,
                                           {"secret.securevalues:read", ns, record->name});
        if (!visible.has_value()) {
          failure = visible.error();
          return false;
        }
        if (!*visible) return true;
        if (items.size() == *limit) {
          more = true;
          return false;
        }
        last_key = std::string(key.substr(prefix.size()));
        items.push_back(std::move(*record));
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;
  std::string continue_token = more ? context.cursors.Encode(kKind, ns, last_key) : "";
  return JsonResponse(Success::kOk,
                      RenderSecureValueList(items, session.txn.resource_version(), continue_token));
}

ApiResult Replace(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "secret.securevalues:write", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = *begun;
  if (auto bad = RequireJson(request)) return *bad;
  StatusOr<SecureValueInput> input = ParseSecureValue(request.body(), ns, false, name);
  if (!input.has_value()) return input.error();
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    StatusOr<storage::ReadTxn> txn = context.store.BeginRead();
    if (!txn.has_value()) return txn.error();
    std::uint64_t generation = 0;
    StatusOr<storage::SecureValueRecord> record = Load(*txn, ns, name, &generation);
    if (!record.has_value()) {
      if (record.error().code() == StatusCode::kNotFound) return NotFound(request);
      return record.error();
    }
    if (input->resource_version &&
        *input->resource_version != std::to_string(record->resource_version)) {
      return ApiError::Conflict(
                 "the object has been modified; please apply your changes to the latest "
                 "version and try again")
          .About(name, kKind);
    }
    const storage::SecureValueVersion read{record->uid, generation, record->resource_version};
    record->description = input->description;
    record->labels = input->labels;
    record->decrypters = input->decrypters;
    StatusOr<crypto::SealedValue> sealed = context.keyring.Seal(
        crypto::ValueBinding{ns, name, record->uid, generation + 1}, input->value.RevealSecret());
    if (!sealed.has_value()) return sealed.error();
    record->envelope = std::move(sealed->envelope);
    bool raced = false;
    StatusOr<storage::WriteReceipt> written =
        AuditedWrite(context, scope, Success::kOk, [&](storage::WriteTxn& write) -> Status {
          StatusOr<std::uint64_t> put = storage::ReplaceSecureValue(write, read, *record);
          raced = !put.has_value() && put.error().code() == StatusCode::kAborted;
          return ToStatus(put);
        });
    if (written.has_value()) return JsonResponse(Success::kOk, RenderSecureValue(*record));
    if (!raced || input->resource_version) {
      if (raced) {
        return ApiError::Conflict("the object has been modified concurrently").About(name, kKind);
      }
      return ApiError::FromStatus(written.error()).About(name, kKind);
    }
  }
  return ApiError::Conflict("the object kept changing; try again").About(name, kKind);
}

ApiResult Delete(ApiContext& context, HttpRequest& request, AuditScope& scope) {
  auto begun = Begin(context, request, scope, "secret.securevalues:delete", true);
  if (!begun.has_value()) return begun.error();
  auto& [session, ns, name] = *begun;
  std::string key = storage::SecureValueKey(ns, name);
  StatusOr<storage::WriteReceipt> written =
      AuditedWrite(context, scope, Success::kOk, [&](storage::WriteTxn& txn) -> Status {
        return txn.Delete(Table::kSecureValues, key);
      });
  if (!written.has_value()) {
    if (written.error().code() == StatusCode::kNotFound) return NotFound(request);
    return ApiError::FromStatus(written.error()).About(name, kKind);
  }
  StatusDetails details{name, std::string(kSecretGroup), std::string(kKind)};
  return JsonResponse(Success::kOk, KubernetesSuccessBody(details));
}

}  // namespace

void AddSecureValueRoutes(Router& router, ApiContext& context) {
  // Reads authenticate with at most a cached password check; they run on
  // the handler pool anyway because Basic auth may need scrypt. Every
  // request here is audited (SPEC section 8), reads of metadata included.
  auto audited = [&context](AuditedFunction handler) { return AuditedRoute(context, handler); };
  router.Add(Method::Post, kCollection, Execution::kBlocking, audited(Create));
  router.Add(Method::Get, kCollection, Execution::kBlocking, audited(List));
  router.Add(Method::Get, kItem, Execution::kBlocking, audited(Get));
  router.Add(Method::Put, kItem, Execution::kBlocking, audited(Replace));
  router.Add(Method::Delete, kItem, Execution::kBlocking, audited(Delete));
}

}  // namespace strongroom::api

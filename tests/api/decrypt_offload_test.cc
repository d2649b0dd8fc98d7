// A decrypt whose data key is not in the cache needs a token round trip,
// which an I/O thread must not wait for: the decrypt pipeline
// (api/decrypt/decrypt.h) suspends the request and the handler pool
// unwraps the key and resumes it where it stopped (Offload): nothing runs
// twice. The answer and the audit records are the same as for a cached
// key, one record per name.
// Labelled concurrency, so it also runs under ThreadSanitizer.
#include <gtest/gtest.h>

#include <string>

#include "api/decrypt/decrypt.h"
#include "tests/api/in_process_server.h"

namespace strongroom {
namespace {

using testing_support::HttpsClient;
using testing_support::HttpsResponse;

class DecryptOffload : public InProcessServerTest {
 protected:
  // RestartWithColdKeys stops the server and opens a fresh keyring, whose
  // data-key cache is empty.
  void RestartWithColdKeys() {
    server_.reset();
    keyring_.reset();
    auto keyring = crypto::Keyring::Open(*service_, *store_);
    ASSERT_TRUE(keyring.has_value()) << keyring.error();
    keyring_ = std::move(*keyring);
    StartServer();
  }

  // RecordsOf counts the decrypt records of request `request_id`.
  std::size_t RecordsOf(const std::string& request_id) {
    audit::EventFilter filter;
    filter.action = "secret.securevalues:decrypt";
    filter.limit = 1000;
    auto page = audit::QueryEvents(dir_.Join("audit"), filter);
    EXPECT_TRUE(page.has_value());
    std::size_t count = 0;
    for (const std::string& line : page.value_or(audit::EventPage{}).records) {
      if (line.find("\"request_id\":\"" + request_id + "\"") != std::string::npos) ++count;
    }
    return count;
  }

  static std::string Decrypt(const std::string& name) { return Path(name) + "/decrypt"; }
};

TEST_F(DecryptOffload, AColdDataKeyIsUnwrappedOnThePoolWithTheSameAnswerAndRecords) {
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("a")).status, 201);
  ASSERT_EQ(admin.Request("POST", Path(), Body("b")).status, 201);

  RestartWithColdKeys();
  HttpsClient service = Service();
  HttpsResponse cold = service.Request("POST", Decrypt("a"));
  EXPECT_EQ(cold.status, 200);
  EXPECT_EQ(cold.body, R"({"name":"a","value":"v-123"})");
  EXPECT_EQ(server_->counters().deferred_offloaded, 1u);
  HttpsResponse warm = service.Request("POST", Decrypt("a"));
  EXPECT_EQ(warm.status, 200);
  EXPECT_EQ(warm.body, cold.body);
  HttpsResponse dapr = service.Request("GET", "/v1.0/secrets/default/b");
  EXPECT_EQ(dapr.status, 200);
  EXPECT_EQ(dapr.body, R"({"b":"v-123"})");
  EXPECT_EQ(server_->counters().deferred_offloaded, 1u) << "the key is cached now";
  EXPECT_EQ(RecordsOf(cold.headers["x-request-id"]), 1u);
  EXPECT_EQ(RecordsOf(warm.headers["x-request-id"]), 1u);

  RestartWithColdKeys();  // on a new port: a new client
  HttpsClient after_restart = Service();
  HttpsResponse batch =
      after_restart.Request("POST", "/apis/secret.grafana.app/v1beta1/namespaces/default/decrypt",
                            R"({"names":["a","missing","b"]})");
  EXPECT_EQ(batch.status, 200) << batch.body << batch.error;
  EXPECT_EQ(
      batch.body,
      R"({"results":{"a":{"value":"v-123"},"missing":{"error":{"code":404,"reason":"NotFound"}},"b":{"value":"v-123"}}})");
  EXPECT_EQ(server_->counters().deferred_offloaded, 1u);
  EXPECT_EQ(RecordsOf(batch.headers["x-request-id"]), 3u) << "one per name, none twice";

  RestartWithColdKeys();
  HttpsClient after_second_restart = Service();
  HttpsResponse bulk = after_second_restart.Request("GET", "/v1.0/secrets/default/bulk");
  EXPECT_EQ(bulk.status, 200);
  EXPECT_EQ(bulk.body, R"({"a":{"a":"v-123"},"b":{"b":"v-123"}})");
  EXPECT_EQ(server_->counters().deferred_offloaded, 1u);
  EXPECT_EQ(RecordsOf(bulk.headers["x-request-id"]), 2u);
}

TEST_F(DecryptOffload, ASuspendedDecryptIsAuthenticatedReadAndLookedUpOnlyOnce) {
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("a")).status, 201);
  ASSERT_EQ(admin.Request("POST", Path(), Body("b")).status, 201);
  RestartWithColdKeys();
  HttpsClient service = Service();

  const api::DecryptStats before = api::DecryptStatsNow();
  const crypto::KeyringCounters keys_before = keyring_->counters();
  HttpsResponse cold = service.Request("POST", Decrypt("a"));
  ASSERT_EQ(cold.status, 200) << cold.body;
  const api::DecryptStats after = api::DecryptStatsNow();
  const crypto::KeyringCounters keys_after = keyring_->counters();
  EXPECT_EQ(after.started - before.started, 1u);
  EXPECT_EQ(after.authenticated - before.authenticated, 1u) << "authenticated once";
  EXPECT_EQ(after.read - before.read, 1u) << "authorized and read once";
  EXPECT_EQ(after.suspended - before.suspended, 1u);
  EXPECT_EQ(after.resumed - before.resumed, 1u);
  EXPECT_EQ(keys_after.unwraps - keys_before.unwraps, 1u);
  EXPECT_EQ(keys_after.cache_misses - keys_before.cache_misses, 1u)
      << "the pool loads the key; it does not look it up and miss again";
  EXPECT_EQ(keys_after.cache_hits - keys_before.cache_hits, 1u) << "the resumed unseal";
  EXPECT_EQ(RecordsOf(cold.headers["x-request-id"]), 1u);

  // The key is cached now: a batch over both names is not suspended.
  HttpsResponse batch =
      service.Request("POST", "/apis/secret.grafana.app/v1beta1/namespaces/default/decrypt",
                      R"({"names":["a","b"]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(api::DecryptStatsNow().suspended, after.suspended);
}

TEST_F(DecryptOffload, ABatchWithOneColdKeyUnwrapsItOnceForEveryName) {
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("a")).status, 201);
  ASSERT_EQ(admin.Request("POST", Path(), Body("b")).status, 201);
  RestartWithColdKeys();
  HttpsClient service = Service();
  const api::DecryptStats before = api::DecryptStatsNow();
  const crypto::KeyringCounters keys_before = keyring_->counters();
  HttpsResponse batch =
      service.Request("POST", "/apis/secret.grafana.app/v1beta1/namespaces/default/decrypt",
                      R"({"names":["a","b"]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.body, R"({"results":{"a":{"value":"v-123"},"b":{"value":"v-123"}}})");
  const api::DecryptStats after = api::DecryptStatsNow();
  EXPECT_EQ(after.authenticated - before.authenticated, 1u);
  EXPECT_EQ(after.suspended - before.suspended, 1u);
  EXPECT_EQ(after.resumed - before.resumed, 1u);
  // Both names are under the namespace's one data key: one unwrap, and one
  // miss per name on the I/O thread (each name's lookup), none on the pool.
  EXPECT_EQ(keyring_->counters().unwraps - keys_before.unwraps, 1u);
  EXPECT_EQ(keyring_->counters().cache_misses - keys_before.cache_misses, 2u);
  EXPECT_EQ(RecordsOf(batch.headers["x-request-id"]), 2u);
}

}  // namespace
}  // namespace strongroom

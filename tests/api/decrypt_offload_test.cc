// A decrypt whose data key is not in the cache needs a token round trip,
// which an I/O thread must not wait for: the handler stops before any
// effect and runs again on the handler pool (Offload). The answer and the
// audit records are the same as for a cached key, one record per name.
// Labelled concurrency, so it also runs under ThreadSanitizer.
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace strongroom

// Three appliances on three etcd members, end to end (issue 18): the real
// `strongroom serve` in replicated mode over real TLS, one shared SoftHSM
// token, real etcd (tests/support/appliance_cluster.h).
//  - against every node: SecureValue create, get, list, replace, delete; a
//    Sensu provider and a secret resolved through the strongroom provider;
//    Dapr single and bulk; Grafana single and batch decrypt;
//  - a write on one node is read on the others (replication lag p50/p99
//    over 200 writes, printed); a stale resourceVersion is 409 on every
//    node;
//  - every node's audit log verifies with `strongroom audit verify` over
//    the three logs.
// Values are compared through their SHA-256 and never printed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "tests/cluster_e2e/cluster_e2e_support.h"
#include "tests/support/appliance_cluster.h"

namespace strongroom::testing_support {
namespace {

using namespace cluster_e2e;  // NOLINT: the suite's own helpers
using nlohmann::json;

const std::string kNs = "c1";
const std::string kProviders = "/api/enterprise/secrets/v1/providers";

std::string SensuSecret(const std::string& name) {
  return "/api/enterprise/secrets/v1/namespaces/" + kNs + "/secrets/" + name;
}

std::string SensuBody(const std::string& name, const std::string& secure_value) {
  return json({{"type", "Secret"},
               {"api_version", "secrets/v1"},
               {"metadata", {{"name", name}, {"namespace", kNs}}},
               {"spec", {{"id", secure_value}, {"provider", "strongroom"}}}})
      .dump();
}

std::string ProviderBody(const std::string& name) {
  return json({{"type", "Provider"},
               {"api_version", "secrets/v1"},
               {"metadata", {{"name", name}}},
               {"spec", {{"type", "env"}, {"allow", {"SR_CLUSTER_E2E_*"}}}}})
      .dump();
}

// ValueFor is the value the tests store under `name`: not a real secret,
// but handled as one (hashes only in messages).
std::string ValueFor(const std::string& name) { return "cluster-e2e-value-of-" + name; }

class ClusterE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = ApplianceCluster::Start({.extra_policy_files = {{"cluster.json", kPolicy}}});
    ASSERT_NE(cluster_, nullptr);
  }

  HttpsClient Admin(int i) { return cluster_->node(i).CertClient(cluster_->node(i).admin_cert()); }
  HttpsClient Decrypter(int i) {
    return cluster_->node(i).CertClient(cluster_->node(i).decrypter_cert());
  }

  // VerifyEveryAuditLog stops the nodes and checks their three logs.
  void VerifyEveryAuditLog() {
    HttpsResponse key = Admin(0).Request("GET", "/api/audit/public-key");
    ASSERT_EQ(key.status, 200) << key.body;
    EXPECT_EQ(cluster_->StopAll(), 0) << "every node exits cleanly on SIGTERM";
    ShellResult verified = cluster_->VerifyAuditLogs(key.body);
    EXPECT_EQ(verified.exit_code, 0) << verified.out;
    EXPECT_EQ(OkLines(verified.out), cluster_->size()) << verified.out;
    for (int i = 0; i < cluster_->size(); ++i) {
      EXPECT_NE(verified.out.find("node=" + ApplianceCluster::node_name(i)), std::string::npos)
          << verified.out;
    }
  }

  std::unique_ptr<ApplianceCluster> cluster_;
};

TEST_F(ClusterE2e, EveryNodeServesSecureValuesSensuDaprAndDecryptsAndEveryAuditLogVerifies) {
  std::set<std::string> live;  // names that exist on every node at the end
  for (int i = 0; i < cluster_->size(); ++i) {
    SCOPED_TRACE(ApplianceCluster::node_name(i));
    HttpsClient admin = Admin(i);
    HttpsClient decrypter = Decrypter(i);
    const std::string name = "sv-" + std::to_string(i);
    const std::string value = ValueFor(name);
    // SecureValue: create, get (no value), replace, list, and a delete.
    HttpsResponse created = admin.Request("POST", Collection(kNs), SecureValueBody(name, value));
    ASSERT_EQ(created.status, 201) << created.body;
    HttpsResponse got = admin.Request("GET", Item(kNs, name));
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.body.find(value), std::string::npos) << "a get never returns the value";
    const std::string version = ParseJson(got.body)["metadata"].value("resourceVersion", "");
    HttpsResponse replaced = admin.Request("PUT", Item(kNs, name),
                                           SecureValueBody(name, value, "replaced here", version));
    ASSERT_EQ(replaced.status, 200) << replaced.body;
    EXPECT_EQ(ParseJson(replaced.body)["spec"].value("description", ""), "replaced here");
    live.insert(name);
    const std::string doomed = "gone-" + std::to_string(i);
    ASSERT_EQ(
        admin.Request("POST", Collection(kNs), SecureValueBody(doomed, ValueFor(doomed))).status,
        201);
    HttpsResponse deleted = admin.Request("DELETE", Item(kNs, doomed));
    EXPECT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(admin.Request("GET", Item(kNs, doomed)).status, 404);
    ListedSet listed = ListAll(admin, kNs);
    ASSERT_TRUE(listed.ok);
    EXPECT_TRUE(listed.versions.contains(name));
    EXPECT_FALSE(listed.versions.contains(doomed));

    // Sensu: a provider and a secret resolved through the strongroom one.
    const std::string provider = "env-" + std::to_string(i);
    EXPECT_EQ(admin.Request("PUT", kProviders + "/" + provider, ProviderBody(provider)).status,
              201);
    EXPECT_EQ(admin.Request("GET", kProviders + "/" + provider).status, 200);
    const std::string sensu = "sensu-" + std::to_string(i);
    ASSERT_EQ(admin.Request("PUT", SensuSecret(sensu), SensuBody(sensu, name)).status, 201);
    HttpsResponse sensu_got = admin.Request("GET", SensuSecret(sensu));
    ASSERT_EQ(sensu_got.status, 200) << sensu_got.body;
    EXPECT_EQ(ParseJson(sensu_got.body)["spec"].value("id", ""), name);
    HttpsResponse resolved = decrypter.Request("GET", SensuSecret(sensu) + "/value");
    ASSERT_EQ(resolved.status, 200);
    EXPECT_EQ(Sha256Hex(ParseJson(resolved.body).value("value", "")), Sha256Hex(value));

    // Decrypts: Grafana single and batch, Dapr single and bulk.
    HttpsResponse one = decrypter.Request("POST", DecryptOne(kNs, name));
    ASSERT_EQ(one.status, 200);
    EXPECT_EQ(Sha256Hex(ParseJson(one.body).value("value", "")), Sha256Hex(value));
    std::vector<std::string> names(live.begin(), live.end());
    // The names written on earlier nodes reach this one through etcd.
    std::map<std::string, std::string> hashes;
    EXPECT_TRUE(WaitUntil([&] {
      hashes = DecryptedHashes(decrypter, kNs, names);
      return hashes.size() == names.size();
    })) << hashes.size()
        << " of " << names.size() << " decrypt in a batch";
    for (const std::string& each : names) {
      EXPECT_EQ(hashes[each], Sha256Hex(ValueFor(each))) << each;
    }
    HttpsResponse dapr = decrypter.Request("GET", "/v1.0/secrets/" + kNs + "/" + name);
    ASSERT_EQ(dapr.status, 200);
    EXPECT_EQ(Sha256Hex(ParseJson(dapr.body).value(name, "")), Sha256Hex(value));
    HttpsResponse bulk = decrypter.Request("GET", "/v1.0/secrets/" + kNs + "/bulk");
    ASSERT_EQ(bulk.status, 200);
    json bulk_body = ParseJson(bulk.body);
    for (const std::string& each : names) {
      EXPECT_TRUE(bulk_body.contains(each)) << each << " in the bulk answer";
    }
  }

  // Every node ends with every node's writes: the same set, the same versions.
  HttpsClient first = Admin(0);
  ListedSet reference = ListAll(first, kNs);
  for (int i = 1; i < cluster_->size(); ++i) {
    HttpsClient admin = Admin(i);
    ListedSet here;
    EXPECT_TRUE(WaitUntil([&] {
      reference = ListAll(first, kNs);
      here = ListAll(admin, kNs);
      return here.ok && reference.ok && here.versions == reference.versions;
    })) << ApplianceCluster::node_name(i)
        << " holds " << here.versions.size() << " secure values, node-1 "
        << reference.versions.size();
  }
  EXPECT_EQ(reference.versions.size(), live.size());
  VerifyEveryAuditLog();
}

TEST_F(ClusterE2e, AWriteOnOneNodeIsReadOnTheOthersAndAStaleReplaceIs409OnEveryNode) {
  const int nodes = cluster_->size();
  std::vector<HttpsClient> admins;
  for (int i = 0; i < nodes; ++i) admins.push_back(Admin(i));

  // Replication lag: from the 201 on node A until node B answers 200.
  constexpr int kWrites = 200;
  std::vector<double> lag_ms;
  for (int w = 0; w < kWrites; ++w) {
    const int a = w % nodes;
    const int b = (w + 1) % nodes;
    const std::string name = "lag-" + std::to_string(w);
    HttpsResponse created =
        admins[a].Request("POST", Collection(kNs), SecureValueBody(name, ValueFor(name)));
    ASSERT_EQ(created.status, 201) << ApplianceCluster::node_name(a) << ": " << created.body;
    const auto written = std::chrono::steady_clock::now();
    long status = 0;
    const bool seen = WaitUntil(
        [&] {
          for (int spin = 0; spin < 50; ++spin) {  // poll hard first: lag is ~ms
            status = admins[b].Request("GET", Item(kNs, name)).status;
            if (status == 200) return true;
          }
          return false;
        },
        std::chrono::seconds(10));
    ASSERT_TRUE(seen) << name << " written on " << ApplianceCluster::node_name(a) << " not read on "
                      << ApplianceCluster::node_name(b) << " (last " << status << ")";
    lag_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - written)
            .count());
  }
  std::printf("replication_lag_ms p50=%.2f p99=%.2f max=%.2f writes=%d\n", Percentile(lag_ms, 50),
              Percentile(lag_ms, 99), Percentile(lag_ms, 100), kWrites);
  RecordProperty("replication_lag_p50_ms", std::to_string(Percentile(lag_ms, 50)));
  RecordProperty("replication_lag_p99_ms", std::to_string(Percentile(lag_ms, 99)));

  // A stale resourceVersion: replaced on node 2 after node 1 created it;
  // every node then refuses the old version with 409 and keeps the record.
  const std::string name = "contended";
  HttpsResponse created =
      admins[0].Request("POST", Collection(kNs), SecureValueBody(name, ValueFor(name)));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string old_version = ParseJson(created.body)["metadata"].value("resourceVersion", "");
  ASSERT_FALSE(old_version.empty()) << created.body;
  HttpsClient& second = admins[1 % nodes];
  ASSERT_TRUE(WaitUntil([&] { return second.Request("GET", Item(kNs, name)).status == 200; }));
  HttpsResponse replaced = second.Request(
      "PUT", Item(kNs, name), SecureValueBody(name, ValueFor(name), "second", old_version));
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  const std::string new_version = ParseJson(replaced.body)["metadata"].value("resourceVersion", "");
  ASSERT_NE(new_version, old_version);
  for (int i = 0; i < nodes; ++i) {
    SCOPED_TRACE(ApplianceCluster::node_name(i));
    EXPECT_TRUE(WaitUntil([&] {
      HttpsResponse got = admins[i].Request("GET", Item(kNs, name));
      return got.status == 200 &&
             ParseJson(got.body)["metadata"].value("resourceVersion", "") == new_version;
    }));
    HttpsResponse stale = admins[i].Request(
        "PUT", Item(kNs, name), SecureValueBody(name, ValueFor(name), "stale", old_version));
    EXPECT_EQ(stale.status, 409) << stale.body;
    HttpsResponse after = admins[i].Request("GET", Item(kNs, name));
    EXPECT_EQ(ParseJson(after.body)["spec"].value("description", ""), "second");
  }
  VerifyEveryAuditLog();
}

}  // namespace
}  // namespace strongroom::testing_support

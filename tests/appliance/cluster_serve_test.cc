// `strongroom serve` in cluster mode (issue 18), end to end: the real binary
// over real TLS, a real SoftHSM token, a real 3-member etcd
// (tests/support/etcd_cluster.h).
//  - one appliance on etcd: its writes reach etcd, /readyz has a true
//    cluster check, the cluster metrics show the applied revision; with
//    every etcd member killed, a write answers 503 (Retry-After) at once,
//    reads continue until max_staleness, then /readyz is false, reads and
//    decrypts answer 503 with Retry-After, and /metrics still shows the
//    staleness;
//  - two appliances on one token: the second joins (`strongroom join`: the
//    cluster's MAC key and store from etcd), a create on the first is read
//    and decrypted on the second, and one on the second is read on the
//    first; one of them holds the background-work lock (etcd lease) and the
//    other takes it over when it stops; a data directory holding another
//    store cannot join; a second process configured with a running node's
//    name is refused (its replica cannot claim the name in etcd).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "tests/support/etcd_cluster.h"
#include "tests/support/server_process.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

constexpr char kValue[] = "v-cluster-not-a-real-secret";

std::string Collection(const std::string& ns) {
  return "/apis/secret.grafana.app/v1beta1/namespaces/" + ns + "/securevalues";
}

std::string Body(const std::string& name) {
  return std::string(R"({"metadata":{"name":")") + name +
         R"("},"spec":{"description":"cluster e2e","value":")" + kValue +
         R"(","decrypters":["demo-service"]}})";
}

// ClusterSection is a [cluster] section naming `etcd`'s members.
std::string ClusterSection(const EtcdCluster& etcd, const std::string& node,
                           int max_staleness_seconds = 30) {
  const cluster::EtcdClientOptions client = etcd.ClientOptions();
  std::string endpoints;
  for (const std::string& url : client.endpoints) {
    endpoints += (endpoints.empty() ? "\"" : ", \"") + url + "\"";
  }
  return "[cluster]\nnode_name = \"" + node + "\"\ncluster_name = \"test\"\nendpoints = [" +
         endpoints + "]\nca_file = \"" + client.tls.ca_file + "\"\ncert_file = \"" +
         client.tls.cert_file + "\"\nkey_file = \"" + client.tls.key_file +
         "\"\nmax_staleness_seconds = " + std::to_string(max_staleness_seconds) +
         "\ncall_timeout_ms = 1000\n";
}

// WaitUntil polls `done` (a bound for a broken build, not a timing check).
bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// Metric returns the value of the unlabelled series `name` in an
// exposition, or -1 when absent.
double Metric(const std::string& exposition, const std::string& name) {
  const std::string needle = "\n" + name + " ";
  const std::size_t at = exposition.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + needle.size()));
}

TEST(ClusterServe, OneNodeWritesThroughEtcdAndGoesStaleWhenEtcdIsGone) {
  auto etcd = EtcdCluster::Start(3);
  ASSERT_NE(etcd, nullptr);
  auto server = ServerProcess::Start(
      {.extra_config_text = ClusterSection(*etcd, "node-a", /*max_staleness_seconds=*/2)});
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->CertClient(server->admin_cert());
  HttpsClient service = server->CertClient(server->decrypter_cert());
  ASSERT_EQ(admin.Request("POST", Collection("c1"), Body("one")).status, 201);

  // The write is in etcd, under the cluster's prefix.
  auto client = cluster::EtcdClient::Create(etcd->ClientOptions());
  ASSERT_TRUE(client.has_value());
  auto stored = (*client)->Range({.key = "/strongroom/test/v1/t/",
                                  .range_end = cluster::PrefixEnd("/strongroom/test/v1/t/"),
                                  .count_only = true});
  ASSERT_TRUE(stored.has_value()) << stored.error().ToString();
  EXPECT_GT(stored->count, 0);

  HttpsClient anonymous(server->base_url(), server->ca_path());
  HttpsResponse ready = anonymous.Request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("\"cluster\":true"), std::string::npos) << ready.body;
  HttpsResponse metrics = admin.Request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_GT(Metric(metrics.body, "strongroom_cluster_applied_revision"), 0) << metrics.body;
  EXPECT_EQ(Metric(metrics.body, "strongroom_cluster_replica_healthy"), 1) << metrics.body;
  EXPECT_GE(Metric(metrics.body, "strongroom_cluster_staleness_seconds"), 0) << metrics.body;

  for (int i = 0; i < etcd->size(); ++i) ASSERT_TRUE(etcd->Kill(i));
  // A write needs etcd: 503 with Retry-After, never a hang (the client's
  // own 10 s limit would make it status 0).
  HttpsResponse write = admin.Request("POST", Collection("c1"), Body("two"));
  EXPECT_EQ(write.status, 503) << write.body;
  EXPECT_TRUE(write.headers.contains("retry-after"));
  // Past max_staleness: not ready, reads and decrypts refused with 503.
  ASSERT_TRUE(WaitUntil([&] { return anonymous.Request("GET", "/readyz").status == 503; },
                        std::chrono::seconds(30)));
  ready = anonymous.Request("GET", "/readyz");
  EXPECT_NE(ready.body.find("\"cluster\":false"), std::string::npos) << ready.body;
  HttpsResponse read = admin.Request("GET", Collection("c1") + "/one");
  EXPECT_EQ(read.status, 503) << read.body;
  EXPECT_EQ(read.headers["retry-after"], "5");
  EXPECT_NE(read.body.find("max_staleness"), std::string::npos) << read.body;
  HttpsResponse decrypt = service.Request("POST", Collection("c1") + "/one/decrypt");
  EXPECT_EQ(decrypt.status, 503) << decrypt.body;
  EXPECT_EQ(decrypt.body.find(kValue), std::string::npos);
  // The operator still reads why.
  metrics = admin.Request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_GT(Metric(metrics.body, "strongroom_cluster_staleness_seconds"), 2) << metrics.body;
  EXPECT_EQ(server->Stop(), 0);
}

// SecondNode is a `strongroom serve` started by hand on the first server's
// token, PKI and policies, with its own data directory (ServerProcess makes
// a token of its own per server).
class SecondNode {
 public:
  SecondNode(ServerProcess& first, const std::string& node) : first_(first) {
    dir_ = first.dir() + "/" + node;
    std::filesystem::create_directories(dir_ + "/data");
    std::string config = ReadFileBytes(first.dir() + "/strongroom.toml");
    Replace(config, first.dir() + "/port", dir_ + "/port");
    Replace(config, first.data_dir(), dir_ + "/data");
    Replace(config, "\"node-a\"", "\"" + node + "\"");
    config_ = dir_ + "/strongroom.toml";
    EXPECT_TRUE(WriteFileBytes(config_, config));
  }
  ~SecondNode() { Stop(); }

  // Stop sends SIGTERM and waits until the server has exited.
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      WaitUntil([&] { return !Running(); }, std::chrono::seconds(15));
      pid_ = -1;
    }
  }

  ShellResult Join() const { return Run("join --config '" + config_ + "'"); }

  // Serve starts serve in the background; false if it never wrote its port.
  bool Serve() {
    // "true;" takes RunShell's 60 s limit, which must not end the server.
    ShellResult started = RunShell("true; " + Env() + " setsid " + std::string(STRONGROOM_BINARY) +
                                   " serve --config '" + config_ + "' >'" + dir_ +
                                   "/serve.log' 2>&1 </dev/null & echo $!");
    pid_ = std::stoi(started.out);
    return WaitUntil([&] { return !ReadFileBytes(dir_ + "/port").empty() || !Running(); },
                     std::chrono::seconds(30)) &&
           Running();
  }
  HttpsClient Client(const IssuedCertificate& cert) const {
    std::string port = ReadFileBytes(dir_ + "/port");
    while (!port.empty() && (port.back() == '\n')) port.pop_back();
    HttpsClient client("https://127.0.0.1:" + port, first_.ca_path());
    client.SetClientCertificate(cert.cert_path, cert.key_path);
    return client;
  }
  std::string log() const { return ReadFileBytes(dir_ + "/serve.log"); }
  const std::string& data_dir() const { return dir_; }

 private:
  static void Replace(std::string& text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  std::string Env() const { return "env SOFTHSM2_CONF='" + first_.token().conf_path() + "'"; }
  ShellResult Run(const std::string& args) const {
    return RunShell(Env() + " " + std::string(STRONGROOM_BINARY) + " " + args + " 2>&1");
  }
  // Running: alive and not a zombie (PID 1 here does not reap).
  bool Running() const {
    std::string stat = ReadFileBytes("/proc/" + std::to_string(pid_) + "/stat");
    const std::size_t close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  }

  ServerProcess& first_;
  std::string dir_;
  std::string config_;
  pid_t pid_ = -1;
};

TEST(ClusterServe, ASecondNodeJoinsAndEachReadsTheOthersWrites) {
  auto etcd = EtcdCluster::Start(3);
  ASSERT_NE(etcd, nullptr);
  auto first = ServerProcess::Start(
      {.extra_config_text = ClusterSection(*etcd, "node-a"),
       .extra_policy_files = {{"decrypters.json", R"({"bindings": [{"service": "demo-service",
                                 "role": "Decrypter", "namespace": "c2"}]})"}}});
  ASSERT_NE(first, nullptr);
  HttpsClient admin_a = first->CertClient(first->admin_cert());
  ASSERT_EQ(admin_a.Request("POST", Collection("c2"), Body("made-on-a")).status, 201);

  SecondNode second(*first, "node-b");
  ShellResult joined = second.Join();
  ASSERT_EQ(joined.exit_code, 0) << joined.out;
  EXPECT_NE(joined.out.find("read from etcd"), std::string::npos) << joined.out;
  // A second join changes nothing.
  ShellResult again = second.Join();
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("already joined"), std::string::npos) << again.out;
  ASSERT_TRUE(second.Serve()) << second.log();

  HttpsClient admin_b = second.Client(first->admin_cert());
  HttpsResponse read = admin_b.Request("GET", Collection("c2") + "/made-on-a");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body.find(kValue), std::string::npos) << "a read never returns the value";
  HttpsClient service_b = second.Client(first->decrypter_cert());
  HttpsResponse decrypt = service_b.Request("POST", Collection("c2") + "/made-on-a/decrypt");
  EXPECT_EQ(decrypt.status, 200) << decrypt.body;
  EXPECT_NE(decrypt.body.find(kValue), std::string::npos);

  // A write on the second node is answered once it applied it, and reaches
  // the first through etcd's watch.
  ASSERT_EQ(admin_b.Request("POST", Collection("c2"), Body("made-on-b")).status, 201);
  EXPECT_TRUE(WaitUntil(
      [&] { return admin_a.Request("GET", Collection("c2") + "/made-on-b").status == 200; },
      std::chrono::seconds(30)));
  // A stale create is 409 on either node.
  EXPECT_EQ(admin_a.Request("POST", Collection("c2"), Body("made-on-b")).status, 409);

  // One node holds the background-work lock; when it stops, the other
  // takes it over.
  auto client = cluster::EtcdClient::Create(etcd->ClientOptions());
  ASSERT_TRUE(client.has_value());
  auto holder = [&]() -> std::string {
    auto read = (*client)->Range({.key = "/strongroom/test/v1/leader/background"});
    return read.has_value() && !read->kvs.empty() ? read->kvs.front().value : "";
  };
  ASSERT_TRUE(WaitUntil([&] { return !holder().empty(); }, std::chrono::seconds(30)));
  const std::string first_holder = holder();
  ASSERT_TRUE(first_holder == "node-a" || first_holder == "node-b") << first_holder;
  const std::string other = first_holder == "node-a" ? "node-b" : "node-a";
  if (first_holder == "node-a") {
    EXPECT_EQ(first->Stop(), 0);
  } else {
    second.Stop();
  }
  EXPECT_TRUE(WaitUntil([&] { return holder() == other; }, std::chrono::seconds(30)))
      << "holder: " << holder();
}

TEST(ClusterServe, ADataDirectoryWithItsOwnStoreCannotJoin) {
  auto etcd = EtcdCluster::Start(3);
  ASSERT_NE(etcd, nullptr);
  auto first = ServerProcess::Start({.extra_config_text = ClusterSection(*etcd, "node-a")});
  ASSERT_NE(first, nullptr);
  // A node initialised on its own (its own record-MAC key) is not the
  // cluster's: join refuses and leaves it as it was.
  SecondNode other(*first, "node-c");
  ShellResult init = RunShell(
      "env SOFTHSM2_CONF='" + first->token().conf_path() + "' " + std::string(STRONGROOM_BINARY) +
      " init --data-dir '" + other.data_dir() + "/data' --module '" + first->token().module_path() +
      "' --token-uri '" + first->token().token_uri() + "' --pin-file '" +
      first->token().pin_file() + "' --node-name node-c " + "--allow-unlocked-memory 2>&1");
  ASSERT_EQ(init.exit_code, 0) << init.out;
  ShellResult joined = other.Join();
  EXPECT_NE(joined.exit_code, 0) << joined.out;
  EXPECT_NE(joined.out.find("holds another store"), std::string::npos) << joined.out;
  EXPECT_TRUE(std::filesystem::exists(other.data_dir() + "/data/store/data.mdb"));
}

TEST(ClusterServe, ASecondProcessWithARunningNodesNameIsRefusedWithOneLineNamingIt) {
  auto etcd = EtcdCluster::Start(3);
  ASSERT_NE(etcd, nullptr);
  auto first = ServerProcess::Start({.extra_config_text = ClusterSection(*etcd, "node-a")});
  ASSERT_NE(first, nullptr);
  // Another data directory configured with the running node's name (a copied
  // configuration): its replica cannot claim the name, so it joins nothing.
  SecondNode twin(*first, "node-a");
  ShellResult joined = twin.Join();
  EXPECT_NE(joined.exit_code, 0) << joined.out;
  EXPECT_NE(joined.out.find("the node name \"node-a\" is held by another running process"),
            std::string::npos)
      << joined.out;
  EXPECT_FALSE(std::filesystem::exists(twin.data_dir() + "/data/store"));  // nothing left
  // The running node is untouched and writes on.
  HttpsClient admin = first->CertClient(first->admin_cert());
  EXPECT_EQ(admin.Request("POST", Collection("c3"), Body("after-twin")).status, 201);
}

}  // namespace
}  // namespace strongroom::testing_support

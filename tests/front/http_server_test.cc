// The TLS front in-process (api/http/http_server.h): keep-alive, blocking
// handlers, overload, graceful shutdown and concurrent clients. The
// concurrency test also runs under ThreadSanitizer (label concurrency).
#include "api/http/http_server.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "api/core/errors.h"
#include "tests/support/https_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/status_matchers.h"

namespace strongroom::api {
namespace {

using Pistache::Http::Method;
using testing_support::HttpsClient;
using testing_support::HttpsResponse;
using testing_support::IssuedCertificate;
using testing_support::TempDir;
using testing_support::TestPki;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<TestPki>(dir_.path());
    server_cert_ = pki_->IssueServer();
    client_cert_ = pki_->IssueClient("client", {.common_name = "svc-a"});
    router_.Add(Method::Get, "/inline", Execution::kInline,
                [](HttpRequest&) { return JsonResponse(200, R"({"where":"inline"})"); });
    router_.Add(Method::Get, "/blocking", Execution::kBlocking, [this](HttpRequest&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(blocking_ms_.load()));
      return JsonResponse(200, R"({"where":"pool"})");
    });
    router_.Add(Method::Post, "/apis/g/v1/things", Execution::kBlocking,
                [](HttpRequest&) { return JsonResponse(201, "{}"); });
    router_.Add(Method::Get, "/whoami", Execution::kInline, [](HttpRequest& request) {
      std::string cn = request.peer->certificate ? request.peer->certificate->common_name : "";
      return JsonResponse(200, "{\"cn\":\"" + cn + "\"}");
    });
  }

  void Start(ServerLimits limits = {}, std::string crl_path = "") {
    auto tls = TlsContext::Create(
        {server_cert_.cert_path, server_cert_.key_path, pki_->ca_cert_path(), crl_path});
    ASSERT_OK(tls);
    tls_.emplace(std::move(*tls));
    ServerOptions options;
    options.port = 0;
    options.limits = limits;
    auto server = HttpServer::Start(
        options, *tls_, router_, [](int status, std::string_view message, std::string_view path) {
          return FrontErrorResponse(path, status, message);
        });
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  HttpsClient Client() {
    return HttpsClient("https://127.0.0.1:" + std::to_string(server_->port()),
                       pki_->ca_cert_path());
  }

  TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  IssuedCertificate server_cert_, client_cert_;
  Router router_;
  std::optional<TlsContext> tls_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> blocking_ms_{0};
};

TEST_F(HttpServerTest, KeepsAConnectionOpenWithoutAConnectionHeader) {
  Start();
  HttpsClient client = Client();
  EXPECT_EQ(client.Request("GET", "/inline").status, 200);
  EXPECT_EQ(client.Request("GET", "/blocking").status, 200);
  EXPECT_EQ(client.Request("GET", "/inline").status, 200);
  EXPECT_EQ(client.new_connections(), 1);
  EXPECT_EQ(server_->counters().handshakes_completed, 1u);
  EXPECT_EQ(server_->counters().requests, 3u);
}

TEST_F(HttpServerTest, AConnectionIdleLongEnoughToGiveBackItsTlsBuffersKeepsWorking) {
  Start();
  HttpsClient client = Client();
  EXPECT_EQ(client.Request("GET", "/inline").status, 200);
  // Idle past the one second after which the TLS record buffers are freed.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(server_->counters().idle_buffers_released, 1u);
  EXPECT_EQ(client.Request("POST", "/apis/g/v1/things", std::string(60000, 'x')).status, 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(server_->counters().idle_buffers_released, 2u);
  HttpsResponse again = client.Request("GET", "/inline");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, R"({"where":"inline"})");
  EXPECT_EQ(client.new_connections(), 1);
}

TEST_F(HttpServerTest, ClosesWhenTheClientAsksAndAfterTheRequestCap) {
  ServerLimits limits;
  limits.max_requests_per_connection = 2;
  Start(limits);
  HttpsClient client = Client();
  client.SetHeader("Connection", "close");
  HttpsResponse closed = client.Request("GET", "/inline");
  EXPECT_EQ(closed.headers["connection"], "close");
  client.SetHeader("Connection", "");
  EXPECT_EQ(client.Request("GET", "/inline").headers.count("connection"), 0u);
  EXPECT_EQ(client.Request("GET", "/inline").headers["connection"], "close");  // 2nd on this one
  EXPECT_EQ(client.Request("GET", "/inline").status, 200);
  EXPECT_EQ(client.new_connections(), 3);
}

TEST_F(HttpServerTest, GivesHandlersTheVerifiedClientCertificate) {
  Start();
  HttpsClient anonymous = Client();
  EXPECT_EQ(anonymous.Request("GET", "/whoami").body, R"({"cn":""})");
  HttpsClient client = Client();
  client.SetClientCertificate(client_cert_.cert_path, client_cert_.key_path);
  EXPECT_EQ(client.Request("GET", "/whoami").body, R"({"cn":"svc-a"})");
}

// Issue 16's review: a CRL written after start takes effect on reload (the
// server's SIGHUP calls ApiServer::ReloadCrl, which calls this), for new
// handshakes; until then the certificate is still accepted.
TEST_F(HttpServerTest, ACertificateRevokedAfterStartIsRefusedOnceTheCrlIsReloaded) {
  const std::string crl = pki_->WriteCrl("clients", {});
  Start({}, crl);
  auto who = [this] {
    HttpsClient client = Client();  // a new connection, so a new handshake
    client.SetClientCertificate(client_cert_.cert_path, client_cert_.key_path);
    return client.Request("GET", "/whoami");
  };
  EXPECT_EQ(who().body, R"({"cn":"svc-a"})");
  ASSERT_EQ(pki_->WriteCrl("clients", {client_cert_.cert_path}), crl);
  EXPECT_EQ(who().body, R"({"cn":"svc-a"})") << "accepted until the CRL is reloaded";
  ASSERT_TRUE(tls_->ReloadCrl().ok());
  EXPECT_EQ(who().status, 0) << "the handshake of a revoked certificate fails";
  HttpsClient anonymous = Client();
  EXPECT_EQ(anonymous.Request("GET", "/whoami").status, 200) << "no certificate: still served";
}

// A CRL that no longer parses is refused by the reload, and the one loaded
// before stays in force.
TEST_F(HttpServerTest, ABrokenCrlIsRefusedOnReloadAndThePreviousOneStays) {
  const std::string crl = pki_->WriteCrl("clients", {client_cert_.cert_path});
  Start({}, crl);
  ASSERT_TRUE(testing_support::WriteFileBytes(crl, "not a CRL"));
  EXPECT_FALSE(tls_->ReloadCrl().ok());
  HttpsClient client = Client();
  client.SetClientCertificate(client_cert_.cert_path, client_cert_.key_path);
  EXPECT_EQ(client.Request("GET", "/whoami").status, 0) << "still revoked";
}

// PemCrlAsDer reads the PEM CRL at `path` and returns it DER-encoded ("" if
// it does not parse).
std::string PemCrlAsDer(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  X509CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) return "";
  unsigned char* der = nullptr;
  const int length = i2d_X509_CRL(crl.get(), &der);
  if (length <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

// RevokedCount parses a DER CRL and returns how many certificates it
// revokes; -1 if it does not parse.
int RevokedCount(const std::string& der) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &bytes, static_cast<long>(der.size())));
  if (!crl) return -1;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  return revoked == nullptr ? 0 : sk_X509_REVOKED_num(revoked);
}

// Issue 20: GET /pki/ca.crl serves TlsContext::CurrentCrlDer, so it must be
// the CRL in force: the one loaded at start, then the one a reload loaded,
// and never a file that failed to load.
TEST_F(HttpServerTest, TheCurrentCrlIsTheOneInForceInDerAndFollowsReloads) {
  const std::string crl = pki_->WriteCrl("clients", {});
  Start({}, crl);
  std::shared_ptr<const std::string> first = tls_->CurrentCrlDer();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(*first, PemCrlAsDer(crl));
  EXPECT_EQ(RevokedCount(*first), 0);

  ASSERT_EQ(pki_->WriteCrl("clients", {client_cert_.cert_path}), crl);
  EXPECT_EQ(*tls_->CurrentCrlDer(), *first) << "unchanged until the reload";
  ASSERT_TRUE(tls_->ReloadCrl().ok());
  std::shared_ptr<const std::string> second = tls_->CurrentCrlDer();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(*second, PemCrlAsDer(crl));
  EXPECT_EQ(RevokedCount(*second), 1);
  EXPECT_EQ(RevokedCount(*first), 0) << "a CRL handed out before the reload is unchanged";

  ASSERT_TRUE(testing_support::WriteFileBytes(crl, "not a CRL"));
  EXPECT_FALSE(tls_->ReloadCrl().ok());
  EXPECT_EQ(*tls_->CurrentCrlDer(), *second) << "a refused reload keeps the CRL in force";
}

TEST_F(HttpServerTest, WithoutACrlThereIsNoCurrentCrl) {
  Start();
  EXPECT_EQ(tls_->CurrentCrlDer(), nullptr);
  EXPECT_TRUE(tls_->ReloadCrl().ok());
  EXPECT_EQ(tls_->CurrentCrlDer(), nullptr);
}

// Issue 16's review: one host must not use up the global caps. Sockets
// that never start TLS stay in handshake; beyond the per-address cap a new
// one from the same address is closed at once, and a slot frees when one
// closes.
TEST_F(HttpServerTest, OneAddressCannotHoldMoreThanItsShareOfHandshakes) {
  ServerLimits limits;
  limits.max_handshakes_per_address = 2;
  Start(limits);
  auto connect_raw = [this] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server_->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  };
  std::vector<int> silent;
  for (int i = 0; i < 3; ++i) silent.push_back(connect_raw());
  while (server_->counters().accepted < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server_->counters().refused_over_capacity, 1u);
  EXPECT_EQ(server_->counters().handshaking_connections, 2u);
  EXPECT_EQ(Client().Request("GET", "/inline").status, 0) << "the address is at its cap";
  ::close(silent.back());
  ::close(silent.front());
  while (server_->counters().handshaking_connections > 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Client().Request("GET", "/inline").status, 200) << "a slot freed";
  for (std::size_t i = 1; i + 1 < silent.size(); ++i) ::close(silent[i]);
}

TEST_F(HttpServerTest, OneAddressCannotHoldMoreThanItsShareOfConnections) {
  ServerLimits limits;
  limits.max_connections_per_address = 2;
  Start(limits);
  HttpsClient first = Client(), second = Client();
  EXPECT_EQ(first.Request("GET", "/inline").status, 200);
  EXPECT_EQ(second.Request("GET", "/inline").status, 200);
  EXPECT_EQ(Client().Request("GET", "/inline").status, 0) << "a third open connection is refused";
  EXPECT_EQ(second.Request("GET", "/inline").status, 200) << "kept-alive ones still work";
}

// Issue 16's review: at the global connection cap a new client is not
// turned away while idle keep-alive connections hold the slots; the one
// idle longest is closed for it.
TEST_F(HttpServerTest, AtTheConnectionCapTheOldestIdleConnectionMakesRoom) {
  ServerLimits limits;
  limits.max_connections = 2;
  Start(limits);
  HttpsClient oldest = Client(), younger = Client();
  EXPECT_EQ(oldest.Request("GET", "/inline").status, 200);
  EXPECT_EQ(younger.Request("GET", "/inline").status, 200);
  while (server_->counters().idle_connections < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  HttpsClient newcomer = Client();
  EXPECT_EQ(newcomer.Request("GET", "/inline").status, 200) << "admitted at the cap";
  EXPECT_EQ(server_->counters().shed_idle, 1u);
  EXPECT_EQ(server_->counters().refused_over_capacity, 0u);
  EXPECT_EQ(younger.Request("GET", "/inline").status, 200);
  EXPECT_EQ(younger.new_connections(), 1) << "the younger one kept its connection";
  oldest.Request("GET", "/inline");  // at the cap again: admitted or not, on a new connection
  EXPECT_EQ(oldest.new_connections(), 2) << "the oldest idle one was closed";
}

// With every connection busy or in handshake there is nothing to shed: the
// new socket is closed, as before.
TEST_F(HttpServerTest, AtTheConnectionCapWithNothingIdleTheNewConnectionIsClosed) {
  ServerLimits limits;
  limits.max_connections = 1;
  Start(limits);
  int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server_->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(silent, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  while (server_->counters().handshaking_connections < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Client().Request("GET", "/inline").status, 0) << "a handshaking socket is never shed";
  EXPECT_EQ(server_->counters().refused_over_capacity, 1u);
  EXPECT_EQ(server_->counters().shed_idle, 0u);
  ::close(silent);
}

// Issue 20: every answer, errors included, tells browsers to keep to
// HTTPS and not to cache or sniff it.
TEST_F(HttpServerTest, EveryResponseCarriesTheSecurityHeaders) {
  Start();
  HttpsClient client = Client();
  for (const char* path : {"/inline", "/nowhere"}) {
    HttpsResponse response = client.Request("GET", path);
    ASSERT_NE(response.status, 0) << response.error;
    EXPECT_EQ(response.headers["strict-transport-security"], "max-age=31536000") << path;
    EXPECT_EQ(response.headers["cache-control"], "no-store") << path;
    EXPECT_EQ(response.headers["x-content-type-options"], "nosniff") << path;
  }
}

TEST_F(HttpServerTest, AnswersUnknownPathsAndMethodsWithTheRightStatus) {
  Start();
  HttpsClient client = Client();
  EXPECT_EQ(client.Request("GET", "/nowhere").status, 404);
  HttpsResponse wrong_method = client.Request("DELETE", "/inline");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "GET");
  HttpsResponse k8s = client.Request("GET", "/apis/nothing/here");
  EXPECT_EQ(k8s.status, 404);
  EXPECT_NE(k8s.body.find("\"kind\":\"Status\""), std::string::npos);
}

TEST_F(HttpServerTest, AnOversizedBodyGets413WithTheBodyTypeOfItsPathEveryTime) {
  Start();
  std::string body(RequestLimits{}.max_body_bytes + 40000, 'x');
  for (int i = 0; i < 20; ++i) {
    HttpsClient client = Client();
    HttpsResponse k8s = client.Request("POST", "/apis/g/v1/things", body);
    ASSERT_EQ(k8s.status, 413) << k8s.error;  // never a reset instead of the answer
    EXPECT_NE(k8s.body.find("\"kind\":\"Status\""), std::string::npos);
  }
  HttpsClient client = Client();
  HttpsResponse plain = client.Request("POST", "/inline", body);
  EXPECT_EQ(plain.status, 413);
  EXPECT_EQ(plain.body.find("\"kind\""), std::string::npos);
}

TEST_F(HttpServerTest, AFullHandlerQueueAnswers503InsteadOfWaiting) {
  ServerLimits limits;
  limits.blocking_threads = 1;
  limits.max_queued_requests = 1;
  Start(limits);
  blocking_ms_ = 1500;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      HttpsClient client = Client();
      long status = client.Request("GET", "/blocking").status;
      if (status == 200) ++ok;
      if (status == 503) ++busy;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_GE(busy.load(), 1);
  EXPECT_EQ(ok.load() + busy.load(), 4);
}

TEST_F(HttpServerTest, ShutdownLetsInFlightRequestsFinish) {
  Start();
  blocking_ms_ = 500;
  HttpsResponse response;
  std::thread slow([&] {
    HttpsClient client = Client();
    response = client.Request("GET", "/blocking");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Shutdown();
  slow.join();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["connection"], "close");
  HttpsClient late = Client();
  EXPECT_EQ(late.Request("GET", "/inline").status, 0);  // no longer listening
}

// Issue 16's review: at shutdown the I/O threads close and free their
// connections after shutdown_grace, while the pool still runs (or has
// queued) the handlers of those connections' requests. A handler must still
// be able to read its request's PeerInfo then. Under ASan (the CI's address
// build) this reported a heap use-after-free while the request pointed into
// the freed connection.
TEST_F(HttpServerTest, PoolHandlersReadTheirPeerAfterShutdownFreedTheConnections) {
  std::latch started(1);
  std::latch gate(1);
  std::mutex mu;
  std::vector<std::string> addresses, names;
  router_.Add(Method::Get, "/peer-late", Execution::kBlocking, [&](HttpRequest& request) {
    started.count_down();
    gate.wait();
    std::lock_guard lock(mu);
    addresses.push_back(request.peer->address);
    names.push_back(request.peer->certificate ? request.peer->certificate->common_name : "");
    return JsonResponse(200, "{}");
  });
  ServerLimits limits;
  limits.blocking_threads = 1;  // the first request runs, the second waits in the queue
  limits.shutdown_grace = std::chrono::milliseconds(50);
  Start(limits);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([this] {
      HttpsClient client = Client();
      client.SetClientCertificate(client_cert_.cert_path, client_cert_.key_path);
      client.Request("GET", "/peer-late");  // cut off by the shutdown
    });
  }
  started.wait();
  while (server_->counters().requests < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread stopper([this] { server_->Shutdown(); });
  // The grace ends and the I/O threads close (and free) both connections;
  // Shutdown then waits for the pool, which waits for the gate.
  while (server_->counters().open_connections != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Close and the connection's destruction are one loop iteration apart;
  // give the worker that iteration.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  gate.count_down();
  stopper.join();
  for (std::thread& t : clients) t.join();
  ASSERT_EQ(addresses.size(), 2u) << "both the running and the queued handler ran";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    EXPECT_TRUE(addresses[i].starts_with("127.0.0.1:")) << addresses[i];
    EXPECT_EQ(names[i], "svc-a");
  }
}

// Clients that never resume must not grow the server without bound: the
// soak (issue 20) saw RSS climb with OpenSSL's default cache of 20,480
// sessions kept two hours. The cache is bounded in size and age.
TEST(TlsContextTest, TheSessionCacheIsBoundedInSizeAndAge) {
  TempDir dir;
  TestPki pki(dir.path());
  IssuedCertificate cert = pki.IssueServer();
  auto tls = TlsContext::Create({cert.cert_path, cert.key_path, pki.ca_cert_path(), ""});
  ASSERT_OK(tls);
  EXPECT_EQ(SSL_CTX_sess_get_cache_size(tls->get()), 2048);
  EXPECT_EQ(SSL_CTX_get_timeout(tls->get()), 300);
}

TEST(HttpServerConcurrency, ManyClientsMixingInlineAndPoolHandlers) {
  TempDir dir;
  TestPki pki(dir.path());
  IssuedCertificate cert = pki.IssueServer();
  Router router;
  std::atomic<int> handled{0};
  router.Add(Method::Get, "/inline", Execution::kInline, [&](HttpRequest&) {
    ++handled;
    return JsonResponse(200, "{}");
  });
  router.Add(Method::Post, "/pool", Execution::kBlocking, [&](HttpRequest& request) {
    ++handled;
    return JsonResponse(200, "{\"length\":" + std::to_string(request.body().size()) + "}");
  });
  auto tls = TlsContext::Create({cert.cert_path, cert.key_path, pki.ca_cert_path(), ""});
  ASSERT_OK(tls);
  ServerOptions options;
  options.port = 0;
  auto server = HttpServer::Start(options, *tls, router,
                                  [](int status, std::string_view m, std::string_view p) {
                                    return FrontErrorResponse(p, status, m);
                                  });
  ASSERT_OK(server);
  constexpr int kClients = 6, kRequests = 40;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      HttpsClient client("https://127.0.0.1:" + std::to_string((*server)->port()),
                         pki.ca_cert_path());
      for (int r = 0; r < kRequests; ++r) {
        HttpsResponse response = (r + i) % 2
                                     ? client.Request("GET", "/inline")
                                     : client.Request("POST", "/pool", std::string(100 + r, 'x'));
        if (response.status == 200) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  (*server)->Shutdown();
  EXPECT_EQ(good.load(), kClients * kRequests);
  EXPECT_EQ(handled.load(), kClients * kRequests);
  EXPECT_EQ((*server)->counters().handshakes_completed, static_cast<std::uint64_t>(kClients));
}

}  // namespace
}  // namespace strongroom::api

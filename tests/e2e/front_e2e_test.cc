// The TLS front against the real server (issue 4): keep-alive with a plain
// client, idle and stalled connections, protocol and cipher refusals, plain
// HTTP on the TLS port, clients that vanish mid-response, 50 malformed
// requests, and an unmodified kubectl.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "tests/support/server_process.h"
#include "tests/support/shell_command.h"
#include "tests/support/temp_dir.h"

namespace strongroom::testing_support {
namespace {

using Clock = std::chrono::steady_clock;

int ConnectTcp(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  return fd;
}

struct TlsOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cipher_list;  // TLS 1.2 and below
  std::string cert, key;
};

// TlsClient is a raw TLS client: the test controls every byte it sends.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca, const TlsOptions& options = {}) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, options.min_version);
    SSL_CTX_set_max_proto_version(ctx_, options.max_version);
    if (!options.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx_, options.cipher_list.c_str());
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!options.cert.empty()) {
      SSL_CTX_use_certificate_file(ctx_, options.cert.c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(ctx_, options.key.c_str(), SSL_FILETYPE_PEM);
    }
    fd_ = ConnectTcp(port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = fd_ >= 0 && SSL_connect(ssl_) == 1;
    // A TLS 1.3 server reports a refused client certificate after the
    // handshake: a first read shows it.
    ERR_clear_error();
  }
  ~TlsClient() {
    SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  // ReadResponse reads until the response's Content-Length is complete, the
  // peer closes, or 5 s pass.
  std::string ReadResponse() {
    std::string out;
    while (!WholeResponseSize(out) && ReadMore(out)) {
    }
    ERR_clear_error();
    return out;
  }
  // ReadResponses reads until `count` whole responses (each framed by its
  // Content-Length) arrived, the peer closes, or 5 s pass; returns them in
  // the order received.
  std::vector<std::string> ReadResponses(std::size_t count) {
    std::vector<std::string> responses;
    std::string in;
    while (responses.size() < count) {
      if (std::optional<std::size_t> size = WholeResponseSize(in)) {
        responses.push_back(in.substr(0, *size));
        in.erase(0, *size);
      } else if (!ReadMore(in)) {
        break;
      }
    }
    ERR_clear_error();
    return responses;
  }

 private:
  // WholeResponseSize is the size of the first response in `in` once all
  // of it (header block and Content-Length body bytes) has arrived.
  static std::optional<std::size_t> WholeResponseSize(const std::string& in) {
    std::size_t end = in.find("\r\n\r\n");
    std::size_t cl = in.find("Content-Length: ");
    if (end == std::string::npos || cl == std::string::npos || cl > end) return std::nullopt;
    std::size_t size = end + 4 + std::stoul(in.substr(cl + 16));
    if (in.size() < size) return std::nullopt;
    return size;
  }
  // ReadMore appends what one SSL_read returns; false when the peer closed,
  // failed or timed out.
  bool ReadMore(std::string& in) {
    char buffer[16384];
    int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n <= 0) return false;
    in.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string BodyOf(const std::string& response) {
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

const std::string kSecureValues =
    "/apis/secret.grafana.app/v1beta1/namespaces/default/securevalues";

std::string CreateBody(const std::string& name, const std::string& value) {
  return R"({"metadata":{"name":")" + name + R"("},"spec":{"description":"front test","value":")" +
         value + R"(","decrypters":["svc"]}})";
}

TEST(FrontE2e, TwoRequestsFromAPlainClientShareOneConnection) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient client = server->CertClient(server->admin_cert());
  EXPECT_EQ(client.Request("GET", kSecureValues).status, 200);
  EXPECT_EQ(client.Request("GET", kSecureValues).status, 200);
  EXPECT_EQ(client.new_connections(), 1);

  // The real curl with two URLs in one call, no Connection header.
  std::string url = server->base_url() + kSecureValues;
  ShellResult curl =
      RunShell("curl -sS -o /dev/null -o /dev/null --cacert " + server->ca_path() + " --cert " +
               server->admin_cert().cert_path + " --key " + server->admin_cert().key_path +
               " -w '%{http_code} %{num_connects}\\n' " + url + " " + url);
  EXPECT_EQ(curl.exit_code, 0);
  EXPECT_EQ(curl.out, "200 1\n200 0\n");  // the second request made no new connection

  // Connection: close is honoured.
  TlsClient raw(server->port(), server->ca_path(),
                {.cert = server->admin_cert().cert_path, .key = server->admin_cert().key_path});
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string response = raw.ReadResponse();
  EXPECT_EQ(StatusOf(response), 200);
  EXPECT_NE(response.find("Connection: close"), std::string::npos);
}

TEST(FrontE2e, IdleAndStalledClientsNeverDelayANormalClient) {
  // The stalled handshakes are closed by this deadline; the normal client's
  // 50 requests must all be answered while they are still open (an order,
  // not a time: a front that served the normal client only once the
  // stalled ones gave up would answer after they were closed).
  auto server = ServerProcess::Start({.extra_config_lines = {"handshake_timeout_ms = 3000"}});
  ASSERT_NE(server, nullptr);
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectTcp(server->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // A TLS record header announcing a 512-byte handshake message, then 5
  // bytes of it: the server waits for the rest, which never comes.
  const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00,
                                         0x01, 0x00, 0x01, 0xfc, 0x03};
  std::vector<int> stalled;
  for (int i = 0; i < 20; ++i) {
    int fd = ConnectTcp(server->port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL),
              static_cast<ssize_t>(sizeof(partial_hello)));
    stalled.push_back(fd);
  }
  HttpsClient client = server->CertClient(server->admin_cert());
  for (int i = 0; i < 50; ++i) {
    HttpsResponse response = client.Request("GET", kSecureValues);
    ASSERT_EQ(response.status, 200) << response.error;
  }
  // Every stalled connection is still open: nothing to read, no EOF yet.
  char byte;
  for (int fd : stalled) {
    errno = 0;
    EXPECT_EQ(::recv(fd, &byte, 1, MSG_DONTWAIT), -1);
    EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
  }
  // The handshake deadline then closes them: they read EOF (a receive
  // timeout far beyond the deadline keeps a broken deadline from hanging
  // the test; it would read -1).
  timeval bound{.tv_sec = 30, .tv_usec = 0};
  ASSERT_EQ(::setsockopt(stalled.front(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound)), 0);
  EXPECT_EQ(::recv(stalled.front(), &byte, 1, 0), 0);
  for (int fd : idle) ::close(fd);
  for (int fd : stalled) ::close(fd);
}

TEST(FrontE2e, OldProtocolsWeakCiphersAndBadCertificatesAreRefused) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  const std::string& ca = server->ca_path();
  int port = server->port();
  // OpenSSL 3 offers TLS 1.0/1.1 only at security level 0: the refusal is the server's.
  EXPECT_FALSE(TlsClient(port, ca, {TLS1_VERSION, TLS1_VERSION, "DEFAULT@SECLEVEL=0"}).connected());
  EXPECT_FALSE(
      TlsClient(port, ca, {TLS1_1_VERSION, TLS1_1_VERSION, "DEFAULT@SECLEVEL=0"}).connected());
  EXPECT_FALSE(
      TlsClient(port, ca, {TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256"}).connected());
  EXPECT_FALSE(
      TlsClient(port, ca, {TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"}).connected());
  EXPECT_FALSE(TlsClient(port, ca, {TLS1_2_VERSION, TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256"})
                   .connected());
  EXPECT_TRUE(TlsClient(port, ca, {TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"})
                  .connected());
  EXPECT_TRUE(TlsClient(port, ca, {TLS1_3_VERSION, TLS1_3_VERSION}).connected());

  // Client certificates from another CA, expired, or without clientAuth.
  TempDir other_dir;
  TestPki other(other_dir.path(), "Other CA");
  IssuedCertificate foreign = other.IssueClient("foreign", {.common_name = "admin"});
  IssuedCertificate expired =
      server->pki().IssueClient("expired", {.common_name = "svc", .expired = true});
  IssuedCertificate server_only =
      server->pki().IssueClient("server-only", {.common_name = "svc", .server_auth_only = true});
  for (const IssuedCertificate* cert : {&foreign, &expired, &server_only}) {
    TlsClient client(port, ca,
                     {TLS1_2_VERSION, TLS1_2_VERSION, "", cert->cert_path, cert->key_path});
    EXPECT_FALSE(client.connected()) << cert->cert_path;
  }
  HttpsClient ok = server->AdminClient();
  EXPECT_EQ(ok.Request("GET", "/readyz").status, 200);
}

TEST(FrontE2e, PlainHttpAndVanishingClientsDoNotHarmTheServer) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  int fd = ConnectTcp(server->port());
  ASSERT_GE(fd, 0);
  std::string plain = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, plain.data(), plain.size(), MSG_NOSIGNAL);
  char buffer[256];
  ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  EXPECT_TRUE(n <= 0 ||
              std::string(buffer, static_cast<std::size_t>(n)).find("200 OK") == std::string::npos);
  ::close(fd);

  // A large response, abandoned after a few bytes, many times.
  HttpsClient admin = server->CertClient(server->admin_cert());
  for (int i = 0; i < 120; ++i) {
    std::string body =
        R"({"metadata":{"name":"big-)" + std::to_string(i) +
        R"(","labels":{"a":"b"}},"spec":{"description":"twenty-five characters!!","value":"v","decrypters":[)";
    for (int d = 0; d < 64; ++d)
      body += std::string(d ? "," : "") + "\"decrypter-number-" + std::to_string(d) + "\"";
    body += "]}}";
    ASSERT_EQ(admin.Request("POST", kSecureValues, body).status, 201);
  }
  for (int i = 0; i < 10; ++i) {
    TlsClient client(
        server->port(), server->ca_path(),
        {.cert = server->admin_cert().cert_path, .key = server->admin_cert().key_path});
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.Send("GET " + kSecureValues + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    // destroyed here: the socket closes with most of the response unread
  }
  EXPECT_EQ(admin.Request("GET", "/readyz").status, 200);
  EXPECT_EQ(admin.Request("GET", kSecureValues + "?limit=1").status, 200);
  EXPECT_EQ(server->Stop(), 0);
}

TEST(FrontE2e, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), server->ca_path(),
                   {.cert = server->admin_cert().cert_path, .key = server->admin_cert().key_path});
  ASSERT_TRUE(client.connected());
  const std::string livez = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string list = "GET " + kSecureValues + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string missing = "GET " + kSecureValues + "/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n";
  // Four requests in one TLS record: inline, pool, pool (404), inline.
  ASSERT_TRUE(client.Send(livez + list + missing + livez));
  std::vector<std::string> responses = client.ReadResponses(4);
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(StatusOf(responses[0]), 200);
  EXPECT_NE(BodyOf(responses[1]).find("SecureValueList"), std::string::npos) << responses[1];
  EXPECT_EQ(StatusOf(responses[2]), 404);
  EXPECT_EQ(StatusOf(responses[3]), 200);
  // A request that arrives, in its own record, while the one before it is
  // still in the pool: held until that response is out, then answered.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Send(list));
    ASSERT_TRUE(client.Send(missing));
    responses = client.ReadResponses(2);
    ASSERT_EQ(responses.size(), 2u) << "round " << i;
    EXPECT_EQ(StatusOf(responses[0]), 200);
    EXPECT_EQ(StatusOf(responses[1]), 404);
  }
  EXPECT_EQ(server->Stop(), 0);
}

TEST(FrontE2e, IdleAndSlowRequestsAreTimedOut) {
  auto server = ServerProcess::Start(
      {.extra_config_lines = {"idle_timeout_ms = 500", "header_timeout_ms = 700"}});
  ASSERT_NE(server, nullptr);
  TlsClient idle(server->port(), server->ca_path());
  ASSERT_TRUE(idle.connected());
  auto start = Clock::now();
  EXPECT_EQ(idle.ReadResponse(), "");  // closed by the server, no response
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(),
            3000);
  TlsClient slow(server->port(), server->ca_path());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("GET /livez HT"));
  EXPECT_EQ(StatusOf(slow.ReadResponse()), 408);
}

// Issue 20: a client that sends a whole oversized body before reading (as
// Python's http.client and many SDKs do, with no 100-continue) still reads
// the 413: the server keeps discarding the rest of the body for a bounded
// time instead of closing on unread bytes, which would reset the connection
// and destroy the answer.
TEST(FrontE2e, AClientThatSendsAWholeOversizedBodyFirstStillReadsThe413) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  TlsOptions admin{.cert = server->admin_cert().cert_path, .key = server->admin_cert().key_path};
  for (std::size_t megabytes : {2u, 8u}) {
    TlsClient client(server->port(), server->ca_path(), admin);
    ASSERT_TRUE(client.connected());
    const std::string body(megabytes << 20, 'x');
    ASSERT_TRUE(client.Send("POST " + kSecureValues + " HTTP/1.1\r\nHost: localhost\r\n" +
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body))
        << megabytes << " MiB: the connection broke while the body was sent";
    EXPECT_EQ(StatusOf(client.ReadResponse()), 413) << megabytes << " MiB";
  }
  HttpsClient check = server->CertClient(server->admin_cert());
  EXPECT_EQ(check.Request("GET", kSecureValues).status, 200) << "the server still serves";
}

TEST(FrontE2e, FiftyMalformedRequestsGet4xxAndChangeNothing) {
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->CertClient(server->admin_cert());
  ASSERT_EQ(admin.Request("POST", kSecureValues, CreateBody("existing", "v1")).status, 201);
  std::string before = admin.Request("GET", kSecureValues).body;

  const std::string sv = kSecureValues;
  auto post = [&](const std::string& path, const std::string& body,
                  const std::string& type = "application/json") {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto put = [&](const std::string& path, const std::string& body) {
    return "PUT " + path +
           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto get = [](const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; };
  std::string many_headers = "GET /livez HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-H" + std::to_string(i) + ": 1\r\n";
  std::string spec_ok = R"("spec":{"description":"d","value":"v"})";
  // {request, routed (expects a JSON body), k8s body expected}
  struct Case {
    std::string request;
    bool routed;
  };
  std::vector<Case> cases = {
      {post(sv, "{"), true},
      {post(sv, "not json"), true},
      {post(sv, "[]"), true},
      {post(sv, "null"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":5,"value":"v"}})"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"d","value":7}})"), true},
      {post(sv,
            R"({"metadata":{"name":"a"},"spec":{"description":"d","value":"v","decrypters":"x"}})"),
       true},
      {post(sv,
            R"({"metadata":{"name":"a"},"spec":{"description":"d","value":"v","decrypters":[1]}})"),
       true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"d","value":"v","extra":1}})"),
       true},
      {post(sv, R"({"metadata":{"name":"a","bogus":1},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":"a"},)" + spec_ok + R"(,"other":true})"), true},
      {post(sv, R"({"metadata":{"name":"UPPER"},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":")" + std::string(254, 'a') + R"("},)" + spec_ok + "}"),
       true},
      {post(sv, R"({"metadata":{"name":"a..b"},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":"a/b"},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":"a_b"},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":"a"}})"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"value":"v"}})"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"","value":"v"}})"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"d","value":""}})"), true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"d","value":"\xc3\x28"}})"),
       true},
      {post(sv, R"({"metadata":{"name":"a"},"spec":{"description":"d","value":"\ud800"}})"), true},
      {post(sv, R"({"metadata":{"name":"a","namespace":"other"},)" + spec_ok + "}"), true},
      {post(sv, R"({"apiVersion":"v1","metadata":{"name":"a"},)" + spec_ok + "}"), true},
      {post(sv, R"({"kind":"Secret","metadata":{"name":"a"},)" + spec_ok + "}"), true},
      {post(sv, R"({"metadata":{"name":"a"},)" + spec_ok + "}", "text/plain"), true},
      {post(sv, ""), true},
      {post(sv, std::string(170000, ' ')), true},
      {post(sv, R"({"metadata":{"name":"a","labels":{"bad key!":"v"}},)" + spec_ok + "}"), true},
      {put(sv + "/existing", R"({"metadata":{"name":"other"},)" + spec_ok + "}"), true},
      {put(sv + "/existing",
           R"({"metadata":{"name":"existing","resourceVersion":"1"},)" + spec_ok + "}"),
       true},
      {put(sv + "/existing", "{}"), true},
      {get(sv + "?labelSelector=a%20in%20("), true},
      {get(sv + "?continue=garbage"), true},
      {get(sv + "?limit=-1"), true},
      {get(sv + "?labelSelector=%zz"), true},
      {get(sv + "/.."), true},
      {get(sv + "/a%2Fb"), true},
      {get("/apis/secret.grafana.app/v1beta1/namespaces/UPPER/securevalues"), true},
      {get("/apis/secret.grafana.app/v1beta1/namespaces/default//securevalues"), true},
      {"DELETE " + sv + " HTTP/1.1\r\nHost: x\r\n\r\n", true},
      {"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n", false},
      {many_headers + "\r\n", false},
      {"POST " + sv +
           " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
       false},
      {"POST " + sv + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
       false},
      {"POST " + sv +
           " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
       false},
      {"BREW " + sv + " HTTP/1.1\r\nHost: x\r\n\r\n", false},
      {"GET " + sv + " HTTP/9.9\r\nHost: x\r\n\r\n", false},
      {"GET " + sv + " HTTP/1.1\r\n\r\n", false},
      {"POST " + sv + " HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", false},
  };
  ASSERT_EQ(cases.size(), 51u);
  int index = 0;
  for (const Case& c : cases) {
    ++index;
    TlsClient client(
        server->port(), server->ca_path(),
        {.cert = server->admin_cert().cert_path, .key = server->admin_cert().key_path});
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.Send(c.request)) << index;
    std::string response = client.ReadResponse();
    int status = StatusOf(response);
    EXPECT_GE(status, 400) << "case " << index;
    EXPECT_LT(status, 500) << "case " << index;
    if (!c.routed) continue;
    nlohmann::json body = nlohmann::json::parse(BodyOf(response), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << "case " << index;
    EXPECT_EQ(body.value("kind", ""), "Status") << "case " << index;
    EXPECT_EQ(body.value("code", 0), status) << "case " << index;
  }
  // Not under /apis: {"message": ...}.
  TlsClient client(server->port(), server->ca_path());
  ASSERT_TRUE(client.Send(get("/api/admin/encryption/rotate-kek")));
  nlohmann::json body = nlohmann::json::parse(BodyOf(client.ReadResponse()), nullptr, false);
  EXPECT_TRUE(body.contains("message"));
  EXPECT_EQ(admin.Request("GET", kSecureValues).body, before);  // nothing changed
}

TEST(FrontE2e, AnUnmodifiedKubectlListsAndGetsSecureValues) {
  ShellResult which = RunShell("sh -c 'command -v kubectl'");
  ASSERT_EQ(which.exit_code, 0)
      << "kubectl is not installed (scripts/setup.sh installs kubernetes-client)";
  auto server = ServerProcess::Start();
  ASSERT_NE(server, nullptr);
  HttpsClient admin = server->CertClient(server->admin_cert());
  ASSERT_EQ(
      admin.Request("POST", kSecureValues, CreateBody("kube-one", "kube-secret-value-1")).status,
      201);
  ASSERT_EQ(
      admin.Request("POST", kSecureValues, CreateBody("kube-two", "kube-secret-value-2")).status,
      201);
  TempDir home;
  std::string kubectl = "env HOME=" + home.path() + " KUBECONFIG=" + home.Join("none") +
                        " kubectl --request-timeout=10s --server " + server->base_url() +
                        " --certificate-authority " + server->ca_path() + " --client-certificate " +
                        server->admin_cert().cert_path + " --client-key " +
                        server->admin_cert().key_path;
  ShellResult list = RunShell(kubectl + " get securevalues.secret.grafana.app -n default 2>&1");
  EXPECT_EQ(list.exit_code, 0) << list.out << server->stderr_text();
  EXPECT_NE(list.out.find("kube-one"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("kube-two"), std::string::npos) << list.out;
  ShellResult get = RunShell(kubectl + " get securevalue kube-one -n default -o json");
  ASSERT_EQ(get.exit_code, 0) << get.out;
  nlohmann::json object = nlohmann::json::parse(get.out, nullptr, false);
  ASSERT_FALSE(object.is_discarded()) << get.out;
  EXPECT_EQ(object.value("kind", ""), "SecureValue");
  EXPECT_FALSE(object["spec"].contains("value"));
  EXPECT_EQ(get.out.find("kube-secret-value-1"), std::string::npos);
}

}  // namespace
}  // namespace strongroom::testing_support

// Self-tests of HttpsClient (tests/support/https_client.h): against
// `openssl s_server -www` requiring a client certificate (TLS verification
// both ways), and against TlsEchoServer, which shows what the client sent
// and keeps connections open (keep-alive, headers, verbatim paths).
#include "tests/support/https_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support_selftest/tls_echo_server.h"

extern char** environ;

namespace strongroom::testing_support {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// FreeLoopbackPort returns a port that was free a moment ago (s_server
// needs a number; a clash makes it exit, and OpenSslServer tries again).
int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

// OpenSslServer runs `openssl s_server -www -Verify 1` (a client certificate
// from the CA is required) on a free loopback port until destroyed.
class OpenSslServer {
 public:
  OpenSslServer(const TempDir& dir, const TestPki& pki, const IssuedCertificate& server)
      : log_path_(dir.Join("s_server.log")) {
    for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
      int port = FreeLoopbackPort();
      if (Launch(pki, server, port) && WaitForAccept())
        port_ = port;
      else
        Kill();
    }
    if (port_ == 0)
      ADD_FAILURE() << "openssl s_server did not start:\n" << ReadFileBytes(log_path_);
  }
  ~OpenSslServer() { Kill(); }

  int port() const { return port_; }

 private:
  bool Launch(const TestPki& pki, const IssuedCertificate& server, int port) {
    std::vector<std::string> args = {"openssl",
                                     "s_server",
                                     "-www",
                                     "-Verify",
                                     "1",
                                     "-CAfile",
                                     pki.ca_cert_path(),
                                     "-cert",
                                     server.cert_path,
                                     "-key",
                                     server.key_path,
                                     "-accept",
                                     "127.0.0.1:" + std::to_string(port)};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int error = ::posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) pid_ = -1;
    return error == 0;
  }

  // WaitForAccept waits (at most 10 s) for s_server's "ACCEPT" line.
  bool WaitForAccept() {
    for (int i = 0; i < 1000; ++i) {
      if (ReadFileBytes(log_path_).find("ACCEPT") != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  std::string Url(int port) const { return "https://127.0.0.1:" + std::to_string(port); }

  TempDir dir_;
  TestPki pki_{dir_.path()};
  IssuedCertificate server_ = pki_.IssueServer();
  IssuedCertificate client_ = pki_.IssueClient("client", {.common_name = "client"});
};

TEST_F(HttpsClientTest, SucceedsWithAClientCertificateTheServerRequires) {
  OpenSslServer server(dir_, pki_, server_);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  client.SetClientCertificate(client_.cert_path, client_.key_path);
  HttpsResponse response = client.Request("GET", "/");
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.headers["content-type"], "text/html");
  EXPECT_THAT(response.body, HasSubstr("<HTML>"));
}

TEST_F(HttpsClientTest, FailsWithoutAClientCertificateTheServerRequires) {
  OpenSslServer server(dir_, pki_, server_);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  HttpsResponse response = client.Request("GET", "/");
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
}

TEST_F(HttpsClientTest, CountsANewConnectionForEachResponseThatClosesIt) {
  // s_server -www answers HTTP/1.0 and closes, so nothing can be reused.
  OpenSslServer server(dir_, pki_, server_);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  client.SetClientCertificate(client_.cert_path, client_.key_path);
  EXPECT_EQ(client.Request("GET", "/").status, 200);
  EXPECT_EQ(client.Request("GET", "/").status, 200);
  EXPECT_EQ(client.new_connections(), 2);
}

TEST_F(HttpsClientTest, RefusesAServerCertificateFromAnotherCa) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  TestPki other(dir_.path(), "Other CA", "other-ca");
  HttpsClient client(Url(server.port()), other.ca_cert_path());
  HttpsResponse response = client.Request("GET", "/");
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("certificate"));
}

TEST_F(HttpsClientTest, RefusesAServerCertificateForAnotherHost) {
  IssuedCertificate elsewhere = pki_.IssueClient(
      "elsewhere", {.common_name = "elsewhere.test", .dns_sans = {"elsewhere.test"}});
  TlsEchoServer server(elsewhere.cert_path, elsewhere.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  EXPECT_EQ(client.Request("GET", "/").status, 0);
}

TEST_F(HttpsClientTest, ReusesOneConnectionForSeveralRequests) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Request("POST", "/x", "{}").status, 200);
  EXPECT_EQ(client.new_connections(), 1);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpsClientTest, SendsThePathVerbatimOverHttp11) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  HttpsResponse response = client.Request("GET", "/a/../b/./c//d?x=1%2F&y=%41");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, ::testing::StartsWith("GET /a/../b/./c//d?x=1%2F&y=%41 HTTP/1.1\r\n"));
}

TEST_F(HttpsClientTest, SendsNoConnectionOrExpectHeaderWithALargeBody) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  const std::string body(2 << 20, 'x');  // curl asks "Expect: 100-continue" above 1 MiB
  HttpsResponse response = client.Request("PUT", "/big", body);
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, HasSubstr("\r\nContent-Type: application/json"));
  EXPECT_THAT(response.body, HasSubstr("body-bytes: " + std::to_string(body.size())));
  EXPECT_THAT(response.body, Not(HasSubstr("Expect:")));
  EXPECT_THAT(response.body, Not(HasSubstr("Connection:")));
}

TEST_F(HttpsClientTest, SendsNoContentTypeWhenAskedForNone) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  HttpsResponse response = client.Request("POST", "/x", "a=b", "");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(response.body, Not(HasSubstr("Content-Type")));
  EXPECT_THAT(response.body, HasSubstr("body-bytes: 3"));
  response = client.Request("POST", "/x", "", "");
  EXPECT_THAT(response.body, HasSubstr("\r\nContent-Length: 0"));
}

TEST_F(HttpsClientTest, SendsBasicThenBearerThenNoAuthorization) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  client.SetBasicAuth("admin", "pw");
  EXPECT_THAT(client.Request("GET", "/").body, HasSubstr("\r\nAuthorization: Basic YWRtaW46cHc="));
  client.SetBearerToken("t0ken");
  HttpsResponse bearer = client.Request("GET", "/");
  EXPECT_THAT(bearer.body, HasSubstr("\r\nAuthorization: Bearer t0ken"));
  EXPECT_THAT(bearer.body, Not(HasSubstr("Basic")));
  client.ClearAuth();
  EXPECT_THAT(client.Request("GET", "/").body, Not(HasSubstr("Authorization")));
}

TEST_F(HttpsClientTest, SetHeaderAddsReplacesAndRemovesHeaders) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  client.SetBearerToken("ignored");
  client.SetHeader("X-Request-Id", "abc");
  client.SetHeader("Authorization", "Key sensu-key");
  HttpsResponse response = client.Request("GET", "/");
  EXPECT_THAT(response.body, HasSubstr("\r\nX-Request-Id: abc"));
  EXPECT_THAT(response.body, HasSubstr("\r\nAuthorization: Key sensu-key"));
  EXPECT_THAT(response.body, Not(HasSubstr("Bearer")));
  client.SetHeader("x-request-id", "");
  EXPECT_THAT(client.Request("GET", "/").body, Not(HasSubstr("X-Request-Id")));
}

TEST_F(HttpsClientTest, ResponseHeadersHaveLowerCaseNamesAndTheLastValue) {
  TlsEchoServer server(server_.cert_path, server_.key_path);
  ASSERT_NE(server.port(), 0);
  HttpsClient client(Url(server.port()), pki_.ca_cert_path());
  HttpsResponse response = client.Request("GET", "/");
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.headers["x-echo-test"], "last");
  EXPECT_EQ(response.headers["content-type"], "text/plain");
}

TEST_F(HttpsClientTest, RefusedConnectionGivesStatusZeroAndAnError) {
  HttpsClient client(Url(FreeLoopbackPort()), pki_.ca_cert_path());
  HttpsResponse response = client.Request("GET", "/");
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error, "");
}

}  // namespace
}  // namespace strongroom::testing_support

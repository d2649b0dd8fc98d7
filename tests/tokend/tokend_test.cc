// tokend over a real unix socket and a real SoftHSM token: every operation
// through the client against the same token used directly, the errors the
// token gives carried across, and the server's refusals: malformed and
// oversized frames close the connection, a peer with another uid is closed
// before it is read.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crypto/token_service.h"
#include "tests/crypto/token_options.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_token.h"
#include "tokend/protocol.h"
#include "tokend/tokend.h"
#include "tests/support/status_matchers.h"

namespace strongroom::tokend {
namespace {

using crypto::WrappedKeyType;

// Value is a StatusOr<bool>'s value, failing the test (and giving false)
// when it is an error.
bool Value(const StatusOr<bool>& result) {
  EXPECT_OK(result);
  return result.has_value() && *result;
}

class TokendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = crypto::Token::Open(crypto::TokenOptionsFor(test_token_));
    ASSERT_OK(token);
    token_ = std::move(*token);
    local_ = std::make_unique<crypto::LocalTokenService>(*token_);
    StartServer(::getuid());
  }

  void TearDown() override {
    server_.reset();
    local_.reset();
    token_.reset();
  }

  void StartServer(uid_t allowed) {
    server_.reset();
    TokendServerOptions options;
    options.socket_path = SocketPath();
    options.allowed_uid = allowed;
    auto server = TokendServer::Start(options, *local_);
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  std::string SocketPath() const { return dir_.Join("tokend.sock"); }

  std::unique_ptr<crypto::TokenService> Client() {
    auto client = ConnectTokenService({.socket_path = SocketPath()});
    EXPECT_OK(client);
    return client.has_value() ? std::move(*client) : nullptr;
  }

  // RawConnect opens a plain connection to the server (a bounded receive
  // wait, so a server that wrongly keeps the connection fails the test
  // instead of hanging it).
  int RawConnect() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, SocketPath().c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval wait{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    return fd;
  }

  // SendAndExpectClosed sends `bytes` and expects the server to close the
  // connection without answering.
  void SendAndExpectClosed(const Bytes& bytes) {
    const std::uint64_t before = server_->malformed_frames();
    int fd = RawConnect();
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
    std::uint8_t answer[16];
    const ssize_t n = ::read(fd, answer, sizeof answer);
    // EOF, or a reset when the server closed with bytes of ours unread.
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "read returned " << n;
    ::close(fd);
    EXPECT_EQ(server_->malformed_frames(), before + 1);
  }

  static Bytes Frame(const Bytes& body) {
    Bytes frame(4 + body.size());
    frame[0] = static_cast<std::uint8_t>(body.size() >> 24);
    frame[1] = static_cast<std::uint8_t>(body.size() >> 16);
    frame[2] = static_cast<std::uint8_t>(body.size() >> 8);
    frame[3] = static_cast<std::uint8_t>(body.size());
    std::copy(body.begin(), body.end(), frame.begin() + 4);
    return frame;
  }

  testing_support::TestToken test_token_;
  testing_support::TempDir dir_;
  std::unique_ptr<crypto::Token> token_;
  std::unique_ptr<crypto::LocalTokenService> local_;
  std::unique_ptr<TokendServer> server_;
};

TEST_F(TokendTest, KeysCrossTheSocketAsTheTokenMakesThem) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->token_label(), token_->token_label());
  ASSERT_TRUE(client->GenerateKek("kek-a").ok());
  ASSERT_TRUE(client->GenerateKek("kek-b").ok());
  EXPECT_EQ(client->GenerateKek("kek-a").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Value(client->KekExists("kek-a")), true);
  EXPECT_EQ(Value(client->KekExists("kek-z")), false);
  auto ids = client->ListKekIds();
  ASSERT_OK(ids);
  std::sort(ids->begin(), ids->end());
  EXPECT_EQ(*ids, (std::vector<std::string>{"kek-a", "kek-b"}));

  auto generated = client->GenerateWrappedKey("kek-a", WrappedKeyType::kAes256);
  ASSERT_OK(generated);
  EXPECT_EQ(generated->plaintext.size(), 32u);
  // The same key, unwrapped through the socket and directly.
  auto remote = client->UnwrapKey("kek-a", generated->wrapped, WrappedKeyType::kAes256);
  auto direct = local_->UnwrapKey("kek-a", generated->wrapped, WrappedKeyType::kAes256);
  ASSERT_OK(remote);
  ASSERT_OK(direct);
  EXPECT_TRUE(remote->ConstantTimeEquals(generated->plaintext));
  EXPECT_TRUE(direct->ConstantTimeEquals(generated->plaintext));

  auto rewrapped = client->RewrapKey("kek-a", "kek-b", generated->wrapped, WrappedKeyType::kAes256);
  ASSERT_OK(rewrapped);
  auto again = client->UnwrapKey("kek-b", *rewrapped, WrappedKeyType::kAes256);
  ASSERT_OK(again);
  EXPECT_TRUE(again->ConstantTimeEquals(generated->plaintext));

  auto mac = client->GenerateWrappedKey("kek-a", WrappedKeyType::kHmacSha256);
  ASSERT_OK(mac);
  auto mac_again = client->UnwrapKey("kek-a", mac->wrapped, WrappedKeyType::kHmacSha256);
  ASSERT_OK(mac_again);
  EXPECT_TRUE(mac_again->ConstantTimeEquals(mac->plaintext));
}

TEST_F(TokendTest, TokenErrorsKeepTheirCodes) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->GenerateKek("kek-a").ok());
  auto generated = client->GenerateWrappedKey("kek-a", WrappedKeyType::kAes256);
  ASSERT_OK(generated);
  EXPECT_EQ(client->UnwrapKey("kek-missing", generated->wrapped, WrappedKeyType::kAes256)
                .error()
                .code(),
            StatusCode::kNotFound);
  Bytes tampered = generated->wrapped;
  tampered[5] ^= 1;
  EXPECT_EQ(client->UnwrapKey("kek-a", tampered, WrappedKeyType::kAes256).error().code(),
            StatusCode::kIntegrityError);
  EXPECT_EQ(client->GetAuditPublicKey().error().code(), StatusCode::kNotFound);
  // A KEK id the protocol refuses never reaches the token: the client's
  // frame is malformed, so the server closes and the call fails.
  EXPECT_FALSE(client->KekExists("kek a/../x").has_value());
  EXPECT_EQ(Value(client->KekExists("kek-a")), true);  // and the service goes on
}

TEST_F(TokendTest, AuditSignaturesAndAnchorsCrossTheSocket) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Value(client->EnsureAuditKeyPair()), true);
  EXPECT_EQ(Value(client->EnsureAuditKeyPair()), false);
  auto key = client->GetAuditPublicKey();
  ASSERT_OK(key);
  auto direct_key = local_->GetAuditPublicKey();
  ASSERT_OK(direct_key);
  EXPECT_EQ(key->pem, direct_key->pem);
  EXPECT_EQ(key->der, direct_key->der);
  EXPECT_EQ(key->fingerprint_sha256, direct_key->fingerprint_sha256);
  const std::string message = "checkpoint 42";
  auto signature = client->SignWithAuditKey(AsBytes(message));
  ASSERT_OK(signature);
  EXPECT_TRUE(crypto::VerifyAuditSignature(key->pem, AsBytes(message), *signature).ok());
  EXPECT_FALSE(crypto::VerifyAuditSignature(key->pem, AsBytes("checkpoint 43"), *signature).ok());

  auto none = client->ReadTrustAnchor();
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  crypto::TrustAnchor anchor{std::string(64, 'a'), 7, std::string(64, 'b'), 3, std::string(64, 'c')};
  ASSERT_TRUE(client->WriteTrustAnchor(anchor).ok());
  auto read = local_->ReadTrustAnchor();
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ(**read, anchor);
  crypto::TrustAnchor replacement = anchor;
  replacement.sealed_seq = 2;
  ASSERT_TRUE(client->ReplaceTrustAnchor(replacement).ok());
  auto replaced = client->ReadTrustAnchor();
  ASSERT_TRUE(replaced.has_value() && replaced->has_value());
  EXPECT_EQ(**replaced, replacement);
  // A named node's anchor (issue 18) crosses tokend with its node and lives
  // beside the single-node one, which it does not touch.
  crypto::TrustAnchor named = anchor;
  named.sealed_seq = 11;
  ASSERT_OK(client->WriteTrustAnchor(named, "node-1"));
  auto named_read = local_->ReadTrustAnchor("node-1");
  ASSERT_TRUE(named_read.has_value() && named_read->has_value());
  EXPECT_EQ(**named_read, named);
  ASSERT_OK(client->ReplaceTrustAnchor(named, "node-2"));
  auto unnamed = client->ReadTrustAnchor();
  ASSERT_TRUE(unnamed.has_value() && unnamed->has_value());
  EXPECT_EQ(**unnamed, replacement) << "another node's replace destroyed this one's anchor";
  auto still = client->ReadTrustAnchor("node-1");
  ASSERT_TRUE(still.has_value() && still->has_value());
  EXPECT_EQ(**still, named);
}

TEST_F(TokendTest, MalformedFramesCloseTheConnection) {
  const std::uint8_t probe = static_cast<std::uint8_t>(Op::kProbe);
  const std::uint8_t exists = static_cast<std::uint8_t>(Op::kKekExists);
  const std::uint8_t unwrap = static_cast<std::uint8_t>(Op::kUnwrapKey);
  SendAndExpectClosed({0, 0, 0, 0});                       // an empty frame
  SendAndExpectClosed(Frame({0x63}));                      // an unknown op
  SendAndExpectClosed(Frame({0}));                         // op 0
  SendAndExpectClosed(Frame({probe, 0, 0}));               // bytes after a field-less op
  SendAndExpectClosed(Frame({exists}));                    // a field missing
  SendAndExpectClosed(Frame({exists, 0, 9, 'k'}));         // a field longer than the frame
  SendAndExpectClosed(Frame({exists, 0, 0}));              // an empty KEK id
  SendAndExpectClosed(Frame({exists, 0, 3, 'a', '/', 'b'}));  // a KEK id with '/'
  SendAndExpectClosed(Frame({unwrap, 0, 1, 'k', 0, 1, 7, 0, 1, 1}));  // key type 7
  SendAndExpectClosed(Frame({unwrap, 0, 1, 'k', 0, 1, 0, 0, 0}));     // empty wrapped key
  SendAndExpectClosed(Frame({static_cast<std::uint8_t>(Op::kWriteTrustAnchor), 0, 3, 'x', 'y',
                             'z'}));                     // an anchor that does not parse
  const std::uint8_t read_anchor = static_cast<std::uint8_t>(Op::kReadTrustAnchor);
  SendAndExpectClosed(Frame({read_anchor}));                       // no node field
  SendAndExpectClosed(Frame({read_anchor, 0, 3, 'a', ':', 'b'}));  // a node name with ':'
  SendAndExpectClosed(Frame({read_anchor, 0, 2, 'N', '1'}));       // upper case
  // The service still answers a well-formed client afterwards.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->Probe().ok());
}

TEST_F(TokendTest, OversizedFrameIsRefusedBeforeItsBody) {
  const std::size_t too_big = kMaxFrameBytes + 1;
  // Only the length is sent: the server must close without waiting for a
  // body it would have to buffer.
  SendAndExpectClosed({static_cast<std::uint8_t>(too_big >> 24),
                       static_cast<std::uint8_t>(too_big >> 16),
                       static_cast<std::uint8_t>(too_big >> 8),
                       static_cast<std::uint8_t>(too_big)});
  SendAndExpectClosed({0xff, 0xff, 0xff, 0xff});
}

TEST_F(TokendTest, OversizedFieldIsRefused) {
  // A message to sign one byte past its bound, in a frame within bounds.
  Bytes body = {static_cast<std::uint8_t>(Op::kSignWithAuditKey),
                static_cast<std::uint8_t>((kMaxMessageBytes + 1) >> 8),
                static_cast<std::uint8_t>(kMaxMessageBytes + 1)};
  body.resize(body.size() + kMaxMessageBytes + 1, 'm');
  SendAndExpectClosed(Frame(body));
}

TEST_F(TokendTest, PeerWithAnotherUidIsRefused) {
  StartServer(::getuid() + 4242);
  auto client = ConnectTokenService({.socket_path = SocketPath()});
  ASSERT_STATUS(client, StatusCode::kTokenUnavailable);
  EXPECT_EQ(server_->refused_peers(), 1u);
  EXPECT_EQ(server_->malformed_frames(), 0u);
}

TEST_F(TokendTest, ClientReconnectsAfterTokendRestarts) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->GenerateKek("kek-a").ok());
  StartServer(::getuid());  // the pooled connection is now closed
  EXPECT_EQ(Value(client->KekExists("kek-a")), true);
  EXPECT_EQ(client->counters().recoveries, 1u);
  server_.reset();
  EXPECT_EQ(client->Probe().code(), StatusCode::kTokenUnavailable);
}

TEST(TokendAddress, OnlyUnixAbsolutePaths) {
  auto path = ParseServiceAddress("unix:/run/strongroom/tokend.sock");
  ASSERT_OK(path);
  EXPECT_EQ(*path, "/run/strongroom/tokend.sock");
  EXPECT_FALSE(ParseServiceAddress("unix:relative").has_value());
  EXPECT_FALSE(ParseServiceAddress("/run/x.sock").has_value());
  EXPECT_FALSE(ParseServiceAddress("tcp:127.0.0.1:1").has_value());
  EXPECT_FALSE(ParseServiceAddress("unix:").has_value());
}

}  // namespace
}  // namespace strongroom::tokend

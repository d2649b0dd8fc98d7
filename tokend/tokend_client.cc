// The appliance's side of tokend: crypto::TokenService over the socket.
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <variant>

#include "tokend/protocol.h"
#include "tokend/tokend.h"

namespace strongroom::tokend {
namespace {

using crypto::WrappedKeyType;

Status Unreachable(const std::string& why) {
  return Status::TokenUnavailable("the token service is unreachable: " + why);
}

std::uint8_t TypeByte(WrappedKeyType type) { return type == WrappedKeyType::kAes256 ? 0 : 1; }

// Answer is one OK answer's fields after the status byte.
struct Answer {
  Bytes plain;
  SecretBytes secret;
  ByteSpan body() const { return secret.empty() ? ByteSpan(plain) : secret.RevealSecret(); }
};

Status Malformed() { return Status::TokenUnavailable("the token service answered a malformed frame"); }

class RemoteTokenService final : public crypto::TokenService {
 public:
  explicit RemoteTokenService(TokenServiceClientOptions options) : options_(std::move(options)) {}
  ~RemoteTokenService() override {
    for (int fd : idle_) ::close(fd);
  }

  Status GenerateKek(std::string_view kek_id) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kGenerateKek, FrameBuilder(op(Op::kGenerateKek)).Field(kek_id)));
    return Done(answer);
  }

  StatusOr<bool> KekExists(std::string_view kek_id) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kKekExists, FrameBuilder(op(Op::kKekExists)).Field(kek_id)));
    FieldReader in = Reader(answer);
    bool exists = false;
    if (!in.Bool(&exists) || !in.End()) return std::unexpected(Malformed());
    return exists;
  }

  StatusOr<std::vector<std::string>> ListKekIds() override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kListKekIds, FrameBuilder(op(Op::kListKekIds))));
    FieldReader in = Reader(answer);
    std::uint8_t high = 0, low = 0;
    if (!in.Byte(&high) || !in.Byte(&low)) return std::unexpected(Malformed());
    const std::size_t count = (std::size_t{high} << 8) | low;
    if (count > kMaxKekCount) return std::unexpected(Malformed());
    std::vector<std::string> ids(count);
    for (std::string& id : ids) {
      if (!in.Text(1, kMaxIdBytes, &id)) return std::unexpected(Malformed());
    }
    if (!in.End()) return std::unexpected(Malformed());
    return ids;
  }

  StatusOr<crypto::GeneratedKey> GenerateWrappedKey(std::string_view kek_id,
                                                    WrappedKeyType type) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kGenerateWrappedKey,
                                            FrameBuilder(op(Op::kGenerateWrappedKey))
                                                .Field(kek_id)
                                                .Byte(TypeByte(type))));
    FieldReader in = Reader(answer);
    ByteSpan wrapped, plaintext;
    if (!in.Field(1, kMaxWrappedBytes, &wrapped) || !in.Field(1, kMaxSecretFrameBytes, &plaintext) ||
        !in.End()) {
      return std::unexpected(Malformed());
    }
    crypto::GeneratedKey key;
    key.wrapped.assign(wrapped.begin(), wrapped.end());
    SR_ASSIGN_OR_RETURN(key.plaintext, SecretBytes::CopyFrom(plaintext));
    return key;
  }

  StatusOr<SecretBytes> UnwrapKey(std::string_view kek_id, ByteSpan wrapped,
                                  WrappedKeyType type) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kUnwrapKey, FrameBuilder(op(Op::kUnwrapKey))
                                                                .Field(kek_id)
                                                                .Byte(TypeByte(type))
                                                                .Field(wrapped)));
    FieldReader in = Reader(answer);
    ByteSpan plaintext;
    if (!in.Field(1, kMaxSecretFrameBytes, &plaintext) || !in.End()) {
      return std::unexpected(Malformed());
    }
    return SecretBytes::CopyFrom(plaintext);
  }

  StatusOr<Bytes> RewrapKey(std::string_view from_kek_id, std::string_view to_kek_id,
                            ByteSpan wrapped, WrappedKeyType type) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kRewrapKey, FrameBuilder(op(Op::kRewrapKey))
                                                                .Field(from_kek_id)
                                                                .Field(to_kek_id)
                                                                .Byte(TypeByte(type))
                                                                .Field(wrapped)));
    FieldReader in = Reader(answer);
    ByteSpan rewrapped;
    if (!in.Field(1, kMaxWrappedBytes, &rewrapped) || !in.End()) return std::unexpected(Malformed());
    return Bytes(rewrapped.begin(), rewrapped.end());
  }

  StatusOr<Bytes> GenerateEscrowableKek(std::string_view kek_id,
                                        std::string_view escrow_key_sha256) override {
    SR_ASSIGN_OR_RETURN(Answer answer,
                        Call(Op::kGenerateEscrowableKek, FrameBuilder(op(Op::kGenerateEscrowableKek))
                                                             .Field(kek_id)
                                                             .Field(escrow_key_sha256)));
    FieldReader in = Reader(answer);
    ByteSpan wrapped;
    if (!in.Field(1, kMaxWrappedBytes, &wrapped) || !in.End()) return std::unexpected(Malformed());
    return Bytes(wrapped.begin(), wrapped.end());
  }

  StatusOr<bool> EnsureAuditKeyPair() override {
    SR_ASSIGN_OR_RETURN(Answer answer,
                        Call(Op::kEnsureAuditKeyPair, FrameBuilder(op(Op::kEnsureAuditKeyPair))));
    FieldReader in = Reader(answer);
    bool created = false;
    if (!in.Bool(&created) || !in.End()) return std::unexpected(Malformed());
    return created;
  }

  StatusOr<crypto::AuditPublicKey> GetAuditPublicKey() override {
    SR_ASSIGN_OR_RETURN(Answer answer,
                        Call(Op::kGetAuditPublicKey, FrameBuilder(op(Op::kGetAuditPublicKey))));
    FieldReader in = Reader(answer);
    crypto::AuditPublicKey key;
    ByteSpan der;
    if (!in.Text(1, 4096, &key.pem) || !in.Field(1, 4096, &der) ||
        !in.Text(64, 64, &key.fingerprint_sha256) || !in.End()) {
      return std::unexpected(Malformed());
    }
    key.der.assign(der.begin(), der.end());
    return key;
  }

  StatusOr<crypto::AuditSignature> SignWithAuditKey(ByteSpan message) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kSignWithAuditKey,
                                            FrameBuilder(op(Op::kSignWithAuditKey)).Field(message)));
    FieldReader in = Reader(answer);
    ByteSpan raw;
    if (!in.Field(64, 64, &raw) || !in.End()) return std::unexpected(Malformed());
    crypto::AuditSignature signature;
    std::memcpy(signature.data(), raw.data(), signature.size());
    return signature;
  }

  StatusOr<std::optional<crypto::TrustAnchor>> ReadTrustAnchor(std::string_view node) override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kReadTrustAnchor,
                                            FrameBuilder(op(Op::kReadTrustAnchor)).Field(node)));
    FieldReader in = Reader(answer);
    bool present = false;
    std::string text;
    if (!in.Bool(&present) || !in.Text(0, kMaxAnchorBytes, &text) || !in.End()) {
      return std::unexpected(Malformed());
    }
    if (!present) return std::optional<crypto::TrustAnchor>();
    StatusOr<crypto::TrustAnchor> anchor = crypto::ParseTrustAnchor(text);
    if (!anchor.has_value()) return std::unexpected(Malformed());
    return std::optional<crypto::TrustAnchor>(std::move(*anchor));
  }

  Status WriteTrustAnchor(const crypto::TrustAnchor& anchor, std::string_view node) override {
    SR_ASSIGN_OR_RETURN(Answer answer,
                        Call(Op::kWriteTrustAnchor, FrameBuilder(op(Op::kWriteTrustAnchor))
                                                        .Field(crypto::EncodeTrustAnchor(anchor))
                                                        .Field(node)));
    return Done(answer);
  }

  Status ReplaceTrustAnchor(const crypto::TrustAnchor& anchor, std::string_view node) override {
    SR_ASSIGN_OR_RETURN(Answer answer,
                        Call(Op::kReplaceTrustAnchor, FrameBuilder(op(Op::kReplaceTrustAnchor))
                                                          .Field(crypto::EncodeTrustAnchor(anchor))
                                                          .Field(node)));
    return Done(answer);
  }

  Status Probe() override {
    SR_ASSIGN_OR_RETURN(Answer answer, Call(Op::kProbe, FrameBuilder(op(Op::kProbe))));
    FieldReader in = Reader(answer);
    std::string label;
    if (!in.Text(0, 256, &label) || !in.End()) return Malformed();
    std::lock_guard lock(mu_);
    label_ = std::move(label);
    return Status::Ok();
  }

  std::string token_label() const override {
    std::lock_guard lock(mu_);
    return label_;
  }

  crypto::TokenCounters counters() const override {
    crypto::TokenCounters c;
    c.sessions_opened = connections_.load();
    c.recoveries = retries_.load();
    c.operations = operations_.load();
    c.operation_errors = errors_.load();
    return c;
  }

 private:
  static std::uint8_t op(Op o) { return static_cast<std::uint8_t>(o); }

  // Reader reads an OK answer's fields (after its status byte).
  static FieldReader Reader(const Answer& answer) { return FieldReader(answer.body().subspan(1)); }

  static Status Done(const Answer& answer) {
    return Reader(answer).End() ? Status::Ok() : Malformed();
  }

  StatusOr<int> Connect() {
    sockaddr_un addr{};
    if (options_.socket_path.size() >= sizeof addr.sun_path) {
      return std::unexpected(Status::InvalidArgument("the token service socket path is too long"));
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(Unreachable("socket() failed"));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int saved = errno;
      ::close(fd);
      return std::unexpected(Unreachable(options_.socket_path + ": " + std::strerror(saved)));
    }
    connections_.fetch_add(1, std::memory_order_relaxed);
    return fd;
  }

  // Exchange sends `request` on `fd` and reads the answer (into SecretBytes
  // when `op` carries key material). kUnavailable when the connection broke.
  static StatusOr<Answer> Exchange(int fd, ByteSpan request, Op op) {
    SR_RETURN_IF_ERROR(WriteAll(fd, request));
    Answer answer;
    if (CarriesSecret(op)) {
      SR_RETURN_IF_ERROR(ReadSecretFrame(fd, kMaxSecretFrameBytes, &answer.secret));
      // An error answer is no secret: read it as one anyway, it is small.
    } else {
      SR_RETURN_IF_ERROR(ReadFrame(fd, kMaxFrameBytes, &answer.plain));
    }
    return answer;
  }

  // Call runs one request: on a pooled connection or a new one; a broken
  // pooled connection (tokend restarted) is replaced once.
  StatusOr<Answer> Call(Op o, const FrameBuilder& builder) {
    operations_.fetch_add(1, std::memory_order_relaxed);
    StatusOr<Answer> answer = CallOnce(o, builder);
    if (!answer.has_value()) errors_.fetch_add(1, std::memory_order_relaxed);
    return answer;
  }

  StatusOr<Answer> CallOnce(Op o, const FrameBuilder& builder) {
    SR_ASSIGN_OR_RETURN(Bytes request, builder.Finish());
    for (int attempt = 0; attempt < 2; ++attempt) {
      int fd = -1;
      bool pooled = false;
      {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
          fd = idle_.back();
          idle_.pop_back();
          pooled = true;
        }
      }
      if (fd < 0) {
        SR_ASSIGN_OR_RETURN(fd, Connect());
      }
      StatusOr<Answer> answer = Exchange(fd, request, o);
      if (!answer.has_value()) {
        ::close(fd);
        if (answer.error().code() == StatusCode::kUnavailable && pooled && attempt == 0) {
          retries_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (answer.error().code() == StatusCode::kInvalidArgument) return std::unexpected(Malformed());
        return std::unexpected(Unreachable(answer.error().message()));
      }
      FieldReader head(answer->body());
      std::uint8_t code = 0;
      if (!head.Head(&code) || code > static_cast<std::uint8_t>(StatusCode::kInternal)) {
        ::close(fd);
        return std::unexpected(Malformed());
      }
      Release(fd);
      if (code == 0) return answer;
      std::string message;
      if (!head.Text(0, kMaxErrorBytes, &message) || !head.End()) return std::unexpected(Malformed());
      return std::unexpected(Status(static_cast<StatusCode>(code), std::move(message)));
    }
    return std::unexpected(Unreachable("the connection broke twice"));
  }

  void Release(int fd) {
    std::lock_guard lock(mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(fd);
    } else {
      ::close(fd);
    }
  }

  const TokenServiceClientOptions options_;
  mutable std::mutex mu_;
  std::vector<int> idle_;  // guarded by mu_
  std::string label_;      // guarded by mu_
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> operations_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace

StatusOr<std::unique_ptr<crypto::TokenService>> ConnectTokenService(
    const TokenServiceClientOptions& options) {
  if (options.socket_path.empty() || options.socket_path[0] != '/') {
    return std::unexpected(
        Status::InvalidArgument("the token service socket must be an absolute path"));
  }
  auto service = std::make_unique<RemoteTokenService>(options);
  SR_RETURN_IF_ERROR(service->Probe());
  return std::unique_ptr<crypto::TokenService>(std::move(service));
}

StatusOr<std::string> ParseServiceAddress(std::string_view address) {
  constexpr std::string_view kUnix = "unix:";
  if (address.substr(0, kUnix.size()) != kUnix || address.size() <= kUnix.size() ||
      address[kUnix.size()] != '/') {
    return std::unexpected(Status::InvalidArgument(
        "the token service must be \"unix:/absolute/path\" (got \"" + std::string(address) + "\")"));
  }
  return std::string(address.substr(kUnix.size()));
}

}  // namespace strongroom::tokend

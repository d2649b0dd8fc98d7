#include "tokend/request_handler.h"

#include "base/node_name.h"

namespace strongroom::tokend {
namespace {

using crypto::WrappedKeyType;

bool KeyType(FieldReader& in, WrappedKeyType* type) {
  std::uint8_t raw = 0;
  if (!in.Byte(&raw) || raw > 1) return false;
  *type = raw == 0 ? WrappedKeyType::kAes256 : WrappedKeyType::kHmacSha256;
  return true;
}

bool KekId(FieldReader& in, std::string* id) {
  return in.Text(1, kMaxIdBytes, id) && IsKekId(*id);
}

bool Anchor(FieldReader& in, crypto::TrustAnchor* anchor) {
  std::string text;
  if (!in.Text(1, kMaxAnchorBytes, &text)) return false;
  StatusOr<crypto::TrustAnchor> parsed = crypto::ParseTrustAnchor(text);
  if (!parsed.has_value()) return false;
  *anchor = std::move(*parsed);
  return true;
}

// NodeName reads the node an anchor operation is for: "" (a single
// appliance) or a node name (IsNodeName, base/node_name.h).
bool NodeName(FieldReader& in, std::string* node) {
  if (!in.Text(0, kMaxNodeNameLength, node)) return false;
  return node->empty() || IsNodeName(*node);
}

constexpr std::uint8_t kOk = 0;

Bytes ErrorFrame(const Status& status) {
  std::string message = status.message();
  if (message.size() > kMaxErrorBytes) message.resize(kMaxErrorBytes);
  StatusOr<Bytes> frame =
      FrameBuilder(static_cast<std::uint8_t>(status.code())).Field(message).Finish();
  return frame.has_value() ? std::move(*frame) : Bytes{0, 0, 0, 1, 1};
}

// Answer turns an OK builder or an error into `out`.
void Answer(const StatusOr<Bytes>& frame, Response* out) {
  out->plain = frame.has_value() ? *frame : ErrorFrame(frame.error());
}

void Answer(const Status& status, Response* out) {
  if (status.ok()) {
    Answer(FrameBuilder(kOk).Finish(), out);
  } else {
    out->plain = ErrorFrame(status);
  }
}

template <typename T>
bool Failed(const StatusOr<T>& result, Response* out) {
  if (result.has_value()) return false;
  out->plain = ErrorFrame(result.error());
  return true;
}

void Secret(const FrameBuilder& head, const SecretBytes& secret, Response* out) {
  StatusOr<SecretBytes> frame = FrameBuilder::SecretFrame(head, secret);
  if (frame.has_value()) {
    out->secret = std::move(*frame);
  } else {
    out->plain = ErrorFrame(frame.error());
  }
}

}  // namespace

bool HandleRequest(crypto::TokenService& service, ByteSpan body, Response* out) {
  FieldReader in(body);
  std::uint8_t raw_op = 0;
  if (!in.Head(&raw_op) || raw_op == 0 || raw_op > kMaxOp) return false;
  const Op op = static_cast<Op>(raw_op);
  std::string id, to_id;
  ByteSpan bytes;
  WrappedKeyType type{};
  crypto::TrustAnchor anchor;
  std::string node;
  switch (op) {
    case Op::kProbe: {
      if (!in.End()) return false;
      const Status probe = service.Probe();
      if (!probe.ok()) return Answer(probe, out), true;
      Answer(FrameBuilder(kOk).Field(service.token_label()).Finish(), out);
      return true;
    }
    case Op::kGenerateKek:
      if (!KekId(in, &id) || !in.End()) return false;
      Answer(service.GenerateKek(id), out);
      return true;
    case Op::kKekExists: {
      if (!KekId(in, &id) || !in.End()) return false;
      StatusOr<bool> exists = service.KekExists(id);
      if (Failed(exists, out)) return true;
      Answer(FrameBuilder(kOk).Byte(*exists ? 1 : 0).Finish(), out);
      return true;
    }
    case Op::kListKekIds: {
      if (!in.End()) return false;
      StatusOr<std::vector<std::string>> ids = service.ListKekIds();
      if (Failed(ids, out)) return true;
      if (ids->size() > kMaxKekCount) {
        Answer(Status::ResourceExhausted("more KEKs in the token than the protocol carries"), out);
        return true;
      }
      FrameBuilder frame(kOk);
      frame.Byte(static_cast<std::uint8_t>(ids->size() >> 8));
      frame.Byte(static_cast<std::uint8_t>(ids->size()));
      for (const std::string& kek : *ids) frame.Field(kek);
      Answer(frame.Finish(), out);
      return true;
    }
    case Op::kGenerateWrappedKey: {
      if (!KekId(in, &id) || !KeyType(in, &type) || !in.End()) return false;
      StatusOr<crypto::GeneratedKey> key = service.GenerateWrappedKey(id, type);
      if (Failed(key, out)) return true;
      FrameBuilder head(kOk);
      head.Field(ByteSpan(key->wrapped));
      Secret(head, key->plaintext, out);
      return true;
    }
    case Op::kUnwrapKey: {
      if (!KekId(in, &id) || !KeyType(in, &type) || !in.Field(1, kMaxWrappedBytes, &bytes) ||
          !in.End()) {
        return false;
      }
      StatusOr<SecretBytes> key = service.UnwrapKey(id, bytes, type);
      if (Failed(key, out)) return true;
      Secret(FrameBuilder(kOk), *key, out);
      return true;
    }
    case Op::kGenerateEscrowableKek: {
      // The fingerprint is 64 hex characters: a KEK id's alphabet holds them.
      if (!KekId(in, &id) || !KekId(in, &to_id) || !in.End()) return false;
      StatusOr<Bytes> wrapped = service.GenerateEscrowableKek(id, to_id);
      if (Failed(wrapped, out)) return true;
      Answer(FrameBuilder(kOk).Field(ByteSpan(*wrapped)).Finish(), out);
      return true;
    }
    case Op::kRewrapKey: {
      if (!KekId(in, &id) || !KekId(in, &to_id) || !KeyType(in, &type) ||
          !in.Field(1, kMaxWrappedBytes, &bytes) || !in.End()) {
        return false;
      }
      StatusOr<Bytes> wrapped = service.RewrapKey(id, to_id, bytes, type);
      if (Failed(wrapped, out)) return true;
      Answer(FrameBuilder(kOk).Field(ByteSpan(*wrapped)).Finish(), out);
      return true;
    }
    case Op::kEnsureAuditKeyPair: {
      if (!in.End()) return false;
      StatusOr<bool> created = service.EnsureAuditKeyPair();
      if (Failed(created, out)) return true;
      Answer(FrameBuilder(kOk).Byte(*created ? 1 : 0).Finish(), out);
      return true;
    }
    case Op::kGetAuditPublicKey: {
      if (!in.End()) return false;
      StatusOr<crypto::AuditPublicKey> key = service.GetAuditPublicKey();
      if (Failed(key, out)) return true;
      Answer(FrameBuilder(kOk)
                 .Field(key->pem)
                 .Field(ByteSpan(key->der))
                 .Field(key->fingerprint_sha256)
                 .Finish(),
             out);
      return true;
    }
    case Op::kSignWithAuditKey: {
      if (!in.Field(1, kMaxMessageBytes, &bytes) || !in.End()) return false;
      StatusOr<crypto::AuditSignature> signature = service.SignWithAuditKey(bytes);
      if (Failed(signature, out)) return true;
      Answer(FrameBuilder(kOk).Field(ByteSpan(*signature)).Finish(), out);
      return true;
    }
    case Op::kReadTrustAnchor: {
      if (!NodeName(in, &node) || !in.End()) return false;
      StatusOr<std::optional<crypto::TrustAnchor>> read = service.ReadTrustAnchor(node);
      if (Failed(read, out)) return true;
      FrameBuilder frame(kOk);
      frame.Byte(read->has_value() ? 1 : 0);
      frame.Field(read->has_value() ? crypto::EncodeTrustAnchor(**read) : std::string());
      Answer(frame.Finish(), out);
      return true;
    }
    case Op::kWriteTrustAnchor:
      if (!Anchor(in, &anchor) || !NodeName(in, &node) || !in.End()) return false;
      Answer(service.WriteTrustAnchor(anchor, node), out);
      return true;
    case Op::kReplaceTrustAnchor:
      if (!Anchor(in, &anchor) || !NodeName(in, &node) || !in.End()) return false;
      Answer(service.ReplaceTrustAnchor(anchor, node), out);
      return true;
  }
  return false;
}

}  // namespace strongroom::tokend

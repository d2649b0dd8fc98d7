// api/http/tls_context.h — the server's TLS configuration (SPEC section 6: TLS 1.2
// and 1.3, forward secrecy and AEAD only) and what a verified client
// certificate says about its holder.
//
// Thread-safety: a TlsContext is immutable after Create and shared by every
// connection; PeerCertificateFacts reads one connection's SSL.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/certificate_facts.h"
#include "base/openssl_ptr.h"
#include "base/status.h"

namespace strongroom::api {

struct TlsOptions {
  std::string certificate_path;  // server chain, PEM (leaf first)
  std::string private_key_path;  // PEM, unencrypted
  // Client certificates are requested on every handshake and, when
  // presented, must chain to this CA (PEM bundle). A connection without a
  // certificate is allowed; it simply has no certificate identity.
  std::string client_ca_path;
  // Optional PEM CRL of the client CA: a revoked certificate fails the
  // handshake.
  std::string crl_path;
};

class TlsContext {
 public:
  // Create loads the files and builds the SSL_CTX. kInvalidArgument naming
  // the file and the problem (unreadable, not PEM, key does not match the
  // certificate, CRL not signed by the CA).
  // SECURITY: protocol TLS 1.2..1.3; TLS 1.2 suites are ECDHE with AES-GCM
  // or ChaCha20-Poly1305 only; renegotiation and compression off; a client
  // certificate must carry the clientAuth purpose.
  static StatusOr<TlsContext> Create(const TlsOptions& options);

  SSL_CTX* get() const { return ctx_.get(); }

 private:
  explicit TlsContext(SslCtxPtr ctx) : ctx_(std::move(ctx)) {}
  SslCtxPtr ctx_;
};

// PeerCertificateFacts returns the facts of the connection's client
// certificate when one was presented and verified (X509_V_OK), else nullopt.
// REQUIRES: the handshake of `ssl` completed.
std::optional<CertificateFacts> PeerCertificateFacts(SSL* ssl);

}  // namespace strongroom::api

// api/http/tls_context.h — the server's TLS configuration (SPEC section 6: TLS 1.2
// and 1.3, forward secrecy and AEAD only) and what a verified client
// certificate says about its holder.
//
// Thread-safety: a TlsContext is shared by every connection; NewSsl and
// ReloadCrl and CurrentCrlDer may be called from any thread.
// PeerCertificateFacts reads one connection's SSL.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
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
  // handshake. Checked for every certificate of the chain
  // (X509_V_FLAG_CRL_CHECK_ALL); re-read by ReloadCrl.
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

  // NewSsl returns a server SSL for one connection that verifies client
  // certificates against the current client CA store (with its CRL); null
  // when OpenSSL fails (its error queue cleared).
  SslPtr NewSsl() const;

  // ReloadCrl re-reads options.crl_path and the client CA into a new
  // verification store, used by every handshake that starts afterwards;
  // handshakes under way keep the store they started with (each SSL holds a
  // reference). Also empties the session cache, so a revoked certificate
  // cannot resume a session. OK and nothing done without a CRL; on error
  // (kInvalidArgument naming the file) the previous store stays.
  Status ReloadCrl();

  // CurrentCrlDer returns the CRL that handshakes starting now check client
  // certificates against (the one Create or ReloadCrl last loaded),
  // DER-encoded, shared and never changed; nullptr without a CRL. A CRL is
  // public: serials and dates signed by the CA, nothing secret (it is served
  // at GET /pki/ca.crl, the certificates' CRL distribution point).
  std::shared_ptr<const std::string> CurrentCrlDer() const;

 private:
  // VerifyStore is the client CA store new connections use and the DER of
  // its CRL; swapped whole by ReloadCrl, never changed in place.
  struct VerifyStore {
    std::mutex mu;
    X509StorePtr store;                          // guarded by mu
    std::shared_ptr<const std::string> crl_der;  // guarded by mu; null without a CRL
  };
  TlsContext(SslCtxPtr ctx, TlsOptions options, X509StorePtr store,
             std::shared_ptr<const std::string> crl_der);
  SslCtxPtr ctx_;
  TlsOptions options_;
  std::unique_ptr<VerifyStore> verify_;
};

// PeerCertificateFacts returns the facts of the connection's client
// certificate when one was presented and verified (X509_V_OK), else nullopt.
// REQUIRES: the handshake of `ssl` completed.
std::optional<CertificateFacts> PeerCertificateFacts(SSL* ssl);

}  // namespace strongroom::api

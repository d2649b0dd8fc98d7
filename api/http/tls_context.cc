#include "api/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <limits>
#include <memory>

namespace strongroom::api {
namespace {

// TLS 1.2 suites: ephemeral ECDHE key exchange and AEAD ciphers only. TLS
// 1.3's suites are all forward secret and AEAD, so OpenSSL's default list
// stays.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
constexpr unsigned char kSessionContext[] = "strongroom";
constexpr long kSessionCacheSize = 2048;
constexpr long kSessionTimeoutSeconds = 300;

Status FileError(std::string_view what, const std::string& path) {
  Status detail = OpenSslError(what);
  return Status::InvalidArgument(std::string(what) + " '" + path + "': " + detail.message());
}

// LoadedVerifyStore is a client CA store and the DER of its CRL (null
// without one).
struct LoadedVerifyStore {
  X509StorePtr store;
  std::shared_ptr<const std::string> crl_der;
};

// CrlDer returns `crl` DER-encoded.
StatusOr<std::shared_ptr<const std::string>> CrlDer(X509_CRL* crl, const std::string& path) {
  const int length = i2d_X509_CRL(crl, nullptr);
  if (length <= 0) return std::unexpected(FileError("cannot encode CRL", path));
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_CRL(crl, &out) != length)
    return std::unexpected(FileError("cannot encode CRL", path));
  return std::make_shared<const std::string>(std::move(der));
}

// ClientVerifyStore builds the store client certificates are verified
// against: the client CA and, when configured, its CRL.
// SECURITY: with a CRL, every certificate of the chain is checked
// (CRL_CHECK_ALL), not only the leaf; a chain whose issuer has no CRL here
// then fails, so the CRL must be the CA's own.
// FillExtensionCaches decodes, once, the extensions of every certificate in
// `store`. OpenSSL caches a certificate's decoded extensions (its key
// identifiers among them) on first use; two I/O threads handshaking at once
// both reach that cache of a shared certificate (ThreadSanitizer saw the
// identifier written by one while the other compared it). Filled here,
// before any I/O thread shares the certificates.
void FillExtensionCaches(X509_STORE* store) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509_OBJECT* object = sk_X509_OBJECT_value(objects, i);
    if (X509_OBJECT_get_type(object) == X509_LU_X509) {
      (void)X509_check_purpose(X509_OBJECT_get0_X509(object), -1, 0);
    }
  }
}

StatusOr<LoadedVerifyStore> ClientVerifyStore(const TlsOptions& options) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return std::unexpected(OpenSslError("X509_STORE_new"));
  if (X509_STORE_load_file(store.get(), options.client_ca_path.c_str()) != 1) {
    return std::unexpected(FileError("cannot load client CA", options.client_ca_path));
  }
  FillExtensionCaches(store.get());
  if (options.crl_path.empty()) return LoadedVerifyStore{std::move(store), nullptr};
  BioPtr bio(BIO_new_file(options.crl_path.c_str(), "r"));
  if (!bio) return std::unexpected(FileError("cannot read CRL", options.crl_path));
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) return std::unexpected(FileError("not a PEM CRL", options.crl_path));
  if (X509_STORE_add_crl(store.get(), crl.get()) != 1)
    return std::unexpected(FileError("cannot use CRL", options.crl_path));
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  SR_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> der, CrlDer(crl.get(), options.crl_path));
  return LoadedVerifyStore{std::move(store), std::move(der)};
}

using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES,
                    decltype([](GENERAL_NAMES* names) { GENERAL_NAMES_free(names); })>;

std::string Asn1String(const ASN1_STRING* text) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                     static_cast<std::size_t>(ASN1_STRING_length(text)));
}

std::string OneLineSubject(X509_NAME* name) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace

StatusOr<TlsContext> TlsContext::Create(const TlsOptions& options) {
  ClearOpenSslErrors();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return std::unexpected(OpenSslError("SSL_CTX_new"));
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(c, kGroups) != 1) {
    return std::unexpected(OpenSslError("TLS protocol settings"));
  }
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // No SSL_MODE_RELEASE_BUFFERS: it frees and reallocates both 17 KB record
  // buffers on every read and write. The I/O threads free them instead on
  // a connection idle for a second (SSL_free_buffers).
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(c, options.certificate_path.c_str()) != 1) {
    return std::unexpected(FileError("cannot load server certificate", options.certificate_path));
  }
  if (SSL_CTX_use_PrivateKey_file(c, options.private_key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return std::unexpected(FileError("cannot load server private key", options.private_key_path));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return std::unexpected(
        FileError("private key does not match the certificate", options.private_key_path));
  }
  if (SSL_CTX_load_verify_locations(c, options.client_ca_path.c_str(), nullptr) != 1) {
    return std::unexpected(FileError("cannot load client CA", options.client_ca_path));
  }
  // The server's own certificate, its chain and the context's CA store are
  // shared by every handshake too (OpenSSL builds the chain it sends).
  FillExtensionCaches(SSL_CTX_get_cert_store(c));
  if (X509* own = SSL_CTX_get0_certificate(c)) (void)X509_check_purpose(own, -1, 0);
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(c, &chain) == 1 && chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) (void)X509_check_purpose(sk_X509_value(chain, i), -1, 0);
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_path.c_str());
  if (names == nullptr)
    return std::unexpected(
        FileError("no CA certificate in client CA file", options.client_ca_path));
  SSL_CTX_set_client_CA_list(c, names);
  // The SSL_CTX's own store holds the CA only; each connection verifies
  // against the VerifyStore (NewSsl), which ReloadCrl can replace.
  SR_ASSIGN_OR_RETURN(LoadedVerifyStore verify_store, ClientVerifyStore(options));
  // Request a certificate, verify it if presented, never require it here:
  // management callers may use a password or token instead. A certificate
  // that fails verification fails the handshake.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(c, 4);
  if (SSL_CTX_set_purpose(c, X509_PURPOSE_SSL_CLIENT) != 1)
    return std::unexpected(OpenSslError("client purpose"));
  // Resumed sessions keep the verified peer certificate; the context id is
  // required for resumption when client certificates are requested.
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  // The cache is bounded: OpenSSL's defaults (20,480 sessions, each with its
  // peer's certificate, kept two hours) let clients that never resume grow
  // the server by megabytes an hour (the soak showed it). A client resuming
  // within five minutes still skips the full handshake.
  SSL_CTX_sess_set_cache_size(c, kSessionCacheSize);
  SSL_CTX_set_timeout(c, kSessionTimeoutSeconds);
  // Read what the socket holds in one read(), not a record header and then
  // its body in two (the I/O threads check SSL_has_pending).
  SSL_CTX_set_read_ahead(c, 1);
  ClearOpenSslErrors();
  return TlsContext(std::move(ctx), options, std::move(verify_store.store),
                    std::move(verify_store.crl_der));
}

TlsContext::TlsContext(SslCtxPtr ctx, TlsOptions options, X509StorePtr store,
                       std::shared_ptr<const std::string> crl_der)
    : ctx_(std::move(ctx)), options_(std::move(options)), verify_(std::make_unique<VerifyStore>()) {
  verify_->store = std::move(store);
  verify_->crl_der = std::move(crl_der);
}

SslPtr TlsContext::NewSsl() const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl) {
    ClearOpenSslErrors();
    return nullptr;
  }
  std::lock_guard lock(verify_->mu);
  // set1 takes a reference: the store lives as long as this SSL needs it.
  if (SSL_set1_verify_cert_store(ssl.get(), verify_->store.get()) != 1) {
    ClearOpenSslErrors();
    return nullptr;
  }
  return ssl;
}

Status TlsContext::ReloadCrl() {
  if (options_.crl_path.empty()) return Status::Ok();
  ClearOpenSslErrors();
  StatusOr<LoadedVerifyStore> loaded = ClientVerifyStore(options_);
  if (!loaded.has_value()) return loaded.error();
  {
    std::lock_guard lock(verify_->mu);
    verify_->store = std::move(loaded->store);
    verify_->crl_der = std::move(loaded->crl_der);
  }
  // A resumed session skips certificate verification: drop them all, so a
  // certificate revoked now needs a full handshake, which refuses it.
  SSL_CTX_flush_sessions(ctx_.get(), std::numeric_limits<long>::max());
  ClearOpenSslErrors();
  return Status::Ok();
}

std::shared_ptr<const std::string> TlsContext::CurrentCrlDer() const {
  std::lock_guard lock(verify_->mu);
  return verify_->crl_der;
}

std::optional<CertificateFacts> PeerCertificateFacts(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  CertificateFacts facts;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &digest_length) != 1) {
    ClearOpenSslErrors();
    return std::nullopt;
  }
  facts.fingerprint_sha256 = HexEncode(ByteSpan(digest, digest_length));
  X509_NAME* subject = X509_get_subject_name(cert);
  facts.subject = OneLineSubject(subject);
  int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn >= 0) {
    facts.common_name = Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn)));
  }
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_DNS) facts.dns_sans.push_back(Asn1String(name->d.dNSName));
    if (name->type == GEN_URI)
      facts.uri_sans.push_back(Asn1String(name->d.uniformResourceIdentifier));
  }
  ClearOpenSslErrors();
  return facts;
}

}  // namespace strongroom::api

/* wrk_client_cert.c — a shim preloaded into wrk (LD_PRELOAD) so that wrk
 * presents a client certificate: wrk has no flag for one, and OpenSSL's
 * configuration file cannot give one (SPEC section 10). It wraps
 * SSL_CTX_new: the real one runs, then the certificate chain and key named
 * by WRK_CLIENT_CERT and WRK_CLIENT_KEY (PEM files) are loaded into the new
 * context. Without both variables it changes nothing. A file that cannot be
 * loaded aborts wrk, so a run never silently goes without a certificate.
 * Benchmark tooling only; never loaded by Strongroom itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

typedef SSL_CTX *(*ssl_ctx_new_fn)(const SSL_METHOD *);

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
  static ssl_ctx_new_fn real = NULL;
  if (real == NULL) real = (ssl_ctx_new_fn)dlsym(RTLD_NEXT, "SSL_CTX_new");
  if (real == NULL) {
    fprintf(stderr, "wrk_client_cert: SSL_CTX_new not found\n");
    abort();
  }
  SSL_CTX *ctx = real(method);
  const char *cert = getenv("WRK_CLIENT_CERT");
  const char *key = getenv("WRK_CLIENT_KEY");
  if (ctx == NULL || cert == NULL || key == NULL) return ctx;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    fprintf(stderr, "wrk_client_cert: cannot load %s / %s\n", cert, key);
    abort();
  }
  return ctx;
}

#!/usr/bin/env bash
# The development PKI's CRL distribution point answers (issue 20): with the
# PKI scripts/dev-pki.sh makes for a port and the real server on that port
# (its own SoftHSM token and data directory, bench/http/bench_server.sh, the
# PKI's CRL as `[tls] crl`, as scripts/run.sh configures it):
#   1. the server certificate, and both client certificates, name exactly
#      https://127.0.0.1:PORT/pki/ca.crl as their CRL distribution point;
#   2. fetching that URI without credentials (trusting only the dev CA)
#      answers 200, application/pkix-crl, with DER that OpenSSL parses and
#      verifies against the CA, byte for byte the configured CRL;
#   3. a revocation (openssl ca -revoke, dev-pki.sh again) is served after
#      SIGHUP, and the revoked client certificate is refused at the
#      handshake.
#   dev_pki_crl_test.sh SOURCE_DIR STRONGROOM_BIN
set -euo pipefail
ROOT="$1"
BIN="$2"
WORK="$(mktemp -d /tmp/strongroom-dev-pki-test-XXXXXX)"
# shellcheck source=../../bench/http/bench_server.sh
. "$ROOT/bench/http/bench_server.sh"
bench_exit_trap dev_pki_crl_test 10
umask 077

PORT="$(bench_free_port)"
bench_pki "$PORT"
BENCH_LISTEN_PORT="$PORT" BENCH_CRL=1 bench_start_server dev "$BIN" 60
URL="https://127.0.0.1:$PORT/pki/ca.crl"

# 1. The distribution point in every certificate.
for name in server admin decrypter; do
  points="$(openssl x509 -in "$PKI/$name.pem" -noout -ext crlDistributionPoints)"
  uris="$(sed -n 's/^ *URI://p' <<<"$points")"
  [ "$uris" = "$URL" ] || fail "$name.pem names '$uris' as its CRL distribution point, not $URL"
done

# 2. Fetching it: DER, parsed and verified by OpenSSL, the configured CRL.
fetch() {  # fetch OUT: GET the URI into OUT, headers into OUT.headers
  curl -sS --fail --max-time 10 --cacert "$PKI/ca.pem" -D "$1.headers" -o "$1" "$URL"
}
fetch "$WORK/crl.der" || fail "GET $URL failed"
grep -qi '^content-type: application/pkix-crl' "$WORK/crl.der.headers" ||
  fail "content type: $(grep -i '^content-type' "$WORK/crl.der.headers")"
verify="$(openssl crl -inform DER -in "$WORK/crl.der" -CAfile "$PKI/ca.pem" -noout 2>&1)" ||
  fail "the served CRL does not parse or verify: $verify"
[ "$verify" = "verify OK" ] || fail "openssl crl says: $verify"
openssl crl -in "$PKI/ca.crl.pem" -outform DER -out "$WORK/configured.der"
cmp -s "$WORK/crl.der" "$WORK/configured.der" || fail "the served CRL is not the configured one"
issuer="$(openssl crl -inform DER -in "$WORK/crl.der" -noout -issuer)"
[ "$issuer" = "issuer=$(openssl x509 -in "$PKI/ca.pem" -noout -subject | sed 's/^subject=//')" ] ||
  fail "issuer: $issuer"

# 3. A revocation reaches the distribution point after SIGHUP.
serial="$(openssl x509 -in "$PKI/decrypter.pem" -noout -serial | cut -d= -f2)"
curl -sS --fail --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
  --key "$PKI/decrypter.key" -o /dev/null "https://127.0.0.1:$PORT/livez" ||
  fail "the decrypter certificate is refused before its revocation"
# dev-pki.sh signs again when the CA database is newer than the CRL:
# timestamps have a resolution of a second here.
touch -d '-1 min' "$PKI/ca.crl.pem"
openssl ca -config "$PKI/ca-db/ca.cnf" -revoke "$PKI/decrypter.pem" >"$WORK/revoke.log" 2>&1 ||
  fail "openssl ca -revoke: $(cat "$WORK/revoke.log")"
"$ROOT/scripts/dev-pki.sh" "$PKI" "$PORT" >/dev/null
kill -HUP "${SERVER_PIDS[dev]}"
listed=false
for _ in $(seq 1 100); do
  fetch "$WORK/after.der" || fail "GET $URL failed after SIGHUP"
  if openssl crl -inform DER -in "$WORK/after.der" -noout -text | grep -q "Serial Number: $serial"; then
    listed=true
    break
  fi
  sleep 0.1
done
[ "$listed" = true ] || fail "the served CRL does not list the revoked serial after SIGHUP"
if curl -sS --max-time 10 --cacert "$PKI/ca.pem" --cert "$PKI/decrypter.pem" \
  --key "$PKI/decrypter.key" -o /dev/null "https://127.0.0.1:$PORT/livez" 2>/dev/null; then
  fail "the revoked decrypter certificate was accepted"
fi
echo "PASS: $URL serves the CA's CRL (DER, verified), and a revocation after SIGHUP"

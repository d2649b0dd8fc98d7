#!/usr/bin/env bash
# Creates the development PKI that scripts/run.sh uses, with the openssl
# command line, in DIR (created, mode 0700):
#   ca.pem / ca.key                 CA (EC P-256, CA:TRUE, 3650 days)
#   ca.crl.pem                      the CA's CRL (PEM, v2, 30 days; the
#                                   server's `[tls] crl`), from the CA
#                                   database in ca-db/
#   server.pem / server.key         serverAuth, SAN IP:127.0.0.1 and DNS:localhost (825 days)
#   admin.pem / admin.key           clientAuth, CN=admin (mapped to the user admin by run.sh)
#   decrypter.pem / decrypter.key   clientAuth, CN=demo-service (a sample decrypting service)
#   etcd-member.pem / .key          serverAuth and clientAuth, SAN IP:127.0.0.1 and
#                                   DNS:localhost: the etcd members of scripts/cluster.sh
#                                   (peer TLS both ways; etcd's JSON gateway calls its own
#                                   gRPC port with this certificate)
#   etcd-client.pem / .key          clientAuth, CN=strongroom-node: a node's etcd client
# Every leaf names the CRL distribution point
# https://127.0.0.1:PORT/pki/ca.crl (PORT default 8443), where the server
# serves that CRL, DER-encoded.
# Idempotent: existing files are kept; only missing ones are made, and a
# missing certificate is issued for an existing key. A certificate naming
# another (or no) CRL distribution point is issued again for its key. The
# CRL is signed again when it is missing, does not verify against ca.pem,
# expires within 7 days, or the CA database changed after it (a revocation:
#   openssl ca -config DIR/ca-db/ca.cnf -revoke DIR/NAME.pem
# then run this script again, and SIGHUP the server).
# Prints one line per file created, nothing else on success (never key
# material). Keys are mode 0600.
# At the end every certificate and the CRL must verify against ca.pem; if
# the CA was replaced under older certificates, remove DIR and run again.
# Development only: the keys are not encrypted.
#   scripts/dev-pki.sh DIR [PORT]
set -euo pipefail

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR [PORT]" >&2
  exit 2
fi
DIR="$1"
PORT="${2:-8443}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
  echo "dev-pki.sh: PORT must be a TCP port number, not '$PORT'" >&2
  exit 2
fi
CRL_URL="https://127.0.0.1:$PORT/pki/ca.crl"
umask 077
mkdir -p "$DIR"
chmod 700 "$DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# run CMD...: runs an openssl command quietly; on failure shows its output.
run() {
  if ! "$@" >"$WORK/log" 2>&1; then
    echo "dev-pki.sh: failed: $*" >&2
    cat "$WORK/log" >&2
    exit 1
  fi
}

# make_key NAME: DIR/NAME.key, a new EC P-256 key (mode 0600), unless present.
make_key() {
  local key="$DIR/$1.key"
  [ -f "$key" ] && return 0
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key"
  chmod 600 "$key"
  echo "created $key"
}

# write_config NAME CN EXTENSIONS...: an openssl configuration for one
# certificate: subject CN=CN, and the extension lines in section [ext].
write_config() {
  local name="$1" cn="$2"
  shift 2
  {
    printf '[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nCN = %s\n[ext]\n' "$cn"
    printf '%s\n' "$@"
  } >"$WORK/$name.cnf"
}

make_ca() {
  make_key ca
  [ -f "$DIR/ca.pem" ] && return 0
  write_config ca "Strongroom Development CA" \
    "basicConstraints = critical,CA:TRUE" \
    "keyUsage = critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier = hash"
  run openssl req -new -x509 -key "$DIR/ca.key" -sha256 -days 3650 \
    -config "$WORK/ca.cnf" -extensions ext -out "$DIR/ca.pem"
  chmod 644 "$DIR/ca.pem"
  echo "created $DIR/ca.pem"
}

# names_crl_url CERT: CERT's CRL distribution point is CRL_URL (and only it).
names_crl_url() {
  local points
  points="$(openssl x509 -in "$1" -noout -ext crlDistributionPoints 2>/dev/null)" || return 1
  [ "$(grep -c 'URI:' <<<"$points")" = 1 ] && grep -qF "URI:$CRL_URL" <<<"$points"
}

# make_leaf NAME CN DAYS EXTENSIONS...: DIR/NAME.key and DIR/NAME.pem, signed
# by the CA, naming the CRL distribution point, unless present and naming it.
make_leaf() {
  local name="$1" cn="$2" days="$3" note=""
  shift 3
  make_key "$name"
  if [ -f "$DIR/$name.pem" ]; then
    names_crl_url "$DIR/$name.pem" && return 0
    note=" (issued again: CRL distribution point $CRL_URL)"
  fi
  write_config "$name" "$cn" \
    "basicConstraints = critical,CA:FALSE" \
    "keyUsage = critical,digitalSignature" \
    "subjectKeyIdentifier = hash" \
    "authorityKeyIdentifier = keyid:always" \
    "crlDistributionPoints = URI:$CRL_URL" \
    "$@"
  run openssl req -new -key "$DIR/$name.key" -config "$WORK/$name.cnf" -out "$WORK/$name.csr"
  run openssl x509 -req -in "$WORK/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
    -extfile "$WORK/$name.cnf" -extensions ext -out "$DIR/$name.pem"
  chmod 644 "$DIR/$name.pem"
  echo "created $DIR/$name.pem$note"
}

# make_crl: DIR/ca.crl.pem, signed by the CA with `openssl ca -gencrl` from
# the CA database in DIR/ca-db/ (made here; `openssl ca -revoke` adds to
# it), unless present, verifying against ca.pem, valid for 7 more days and
# newer than the database.
make_crl() {
  local db="$DIR/ca-db" crl="$DIR/ca.crl.pem" next
  mkdir -p "$db"
  [ -f "$db/index.txt" ] || : >"$db/index.txt"
  [ -f "$db/crlnumber" ] || echo 01 >"$db/crlnumber"
  cat >"$db/ca.cnf" <<CNF
# The development CA's database, for openssl ca -gencrl and -revoke
# (written by scripts/dev-pki.sh).
[ca]
default_ca = dev_ca
[dev_ca]
database = $db/index.txt
crlnumber = $db/crlnumber
certificate = $DIR/ca.pem
private_key = $DIR/ca.key
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
CNF
  if [ -f "$crl" ] && [ ! "$db/index.txt" -nt "$crl" ] &&
    openssl crl -in "$crl" -CAfile "$DIR/ca.pem" -noout >/dev/null 2>&1; then
    next="$(openssl crl -in "$crl" -noout -nextupdate | cut -d= -f2)"
    if [ -n "$next" ] && [ "$(date -d "$next" +%s)" -gt "$(($(date +%s) + 7 * 86400))" ]; then
      return 0
    fi
  fi
  run openssl ca -gencrl -config "$db/ca.cnf" -out "$crl"
  chmod 644 "$crl"
  echo "created $crl"
}

make_ca
make_leaf server localhost 825 \
  "extendedKeyUsage = serverAuth" "subjectAltName = IP:127.0.0.1,DNS:localhost"
make_leaf admin admin 825 "extendedKeyUsage = clientAuth"
make_leaf decrypter demo-service 825 "extendedKeyUsage = clientAuth"
make_leaf etcd-member localhost 825 \
  "extendedKeyUsage = serverAuth,clientAuth" "subjectAltName = IP:127.0.0.1,DNS:localhost"
make_leaf etcd-client strongroom-node 825 "extendedKeyUsage = clientAuth"
make_crl

for name in server admin decrypter etcd-member etcd-client; do
  if ! openssl verify -CAfile "$DIR/ca.pem" "$DIR/$name.pem" >"$WORK/log" 2>&1; then
    echo "dev-pki.sh: $DIR/$name.pem does not verify against $DIR/ca.pem:" >&2
    cat "$WORK/log" >&2
    echo "dev-pki.sh: remove $DIR and run again to make a fresh PKI" >&2
    exit 1
  fi
done
if ! openssl crl -in "$DIR/ca.crl.pem" -CAfile "$DIR/ca.pem" -noout >"$WORK/log" 2>&1; then
  echo "dev-pki.sh: $DIR/ca.crl.pem does not verify against $DIR/ca.pem:" >&2
  cat "$WORK/log" >&2
  exit 1
fi

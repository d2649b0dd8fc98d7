#!/usr/bin/env bash
# Creates the development PKI that scripts/run.sh uses, with the openssl
# command line, in DIR (created, mode 0700):
#   ca.pem / ca.key                 CA (EC P-256, CA:TRUE, 3650 days)
#   server.pem / server.key         serverAuth, SAN IP:127.0.0.1 and DNS:localhost (825 days)
#   admin.pem / admin.key           clientAuth, CN=admin (mapped to the user admin by run.sh)
#   decrypter.pem / decrypter.key   clientAuth, CN=demo-service (a sample decrypting service)
#   etcd-member.pem / .key          serverAuth and clientAuth, SAN IP:127.0.0.1 and
#                                   DNS:localhost: the etcd members of scripts/cluster.sh
#                                   (peer TLS both ways; etcd's JSON gateway calls its own
#                                   gRPC port with this certificate)
#   etcd-client.pem / .key          clientAuth, CN=strongroom-node: a node's etcd client
# Idempotent: existing files are kept; only missing ones are made, and a
# missing certificate is issued for an existing key. Prints one line per file
# created, nothing else on success (never key material). Keys are mode 0600.
# At the end every certificate must verify against ca.pem (openssl verify);
# if the CA was replaced under older certificates, remove DIR and run again.
# Development only: the keys are not encrypted.
#   scripts/dev-pki.sh DIR
set -euo pipefail

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
DIR="$1"
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

# make_leaf NAME CN DAYS EXTENSIONS...: DIR/NAME.key and DIR/NAME.pem, signed
# by the CA, unless present.
make_leaf() {
  local name="$1" cn="$2" days="$3"
  shift 3
  make_key "$name"
  [ -f "$DIR/$name.pem" ] && return 0
  write_config "$name" "$cn" \
    "basicConstraints = critical,CA:FALSE" \
    "keyUsage = critical,digitalSignature" \
    "subjectKeyIdentifier = hash" \
    "authorityKeyIdentifier = keyid:always" \
    "$@"
  run openssl req -new -key "$DIR/$name.key" -config "$WORK/$name.cnf" -out "$WORK/$name.csr"
  run openssl x509 -req -in "$WORK/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
    -extfile "$WORK/$name.cnf" -extensions ext -out "$DIR/$name.pem"
  chmod 644 "$DIR/$name.pem"
  echo "created $DIR/$name.pem"
}

make_ca
make_leaf server localhost 825 \
  "extendedKeyUsage = serverAuth" "subjectAltName = IP:127.0.0.1,DNS:localhost"
make_leaf admin admin 825 "extendedKeyUsage = clientAuth"
make_leaf decrypter demo-service 825 "extendedKeyUsage = clientAuth"
make_leaf etcd-member localhost 825 \
  "extendedKeyUsage = serverAuth,clientAuth" "subjectAltName = IP:127.0.0.1,DNS:localhost"
make_leaf etcd-client strongroom-node 825 "extendedKeyUsage = clientAuth"

for name in server admin decrypter etcd-member etcd-client; do
  if ! openssl verify -CAfile "$DIR/ca.pem" "$DIR/$name.pem" >"$WORK/log" 2>&1; then
    echo "dev-pki.sh: $DIR/$name.pem does not verify against $DIR/ca.pem:" >&2
    cat "$WORK/log" >&2
    echo "dev-pki.sh: remove $DIR and run again to make a fresh PKI" >&2
    exit 1
  fi
done

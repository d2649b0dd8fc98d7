#!/usr/bin/env bash
# Brings up the several-node mode (issue 18): three etcd members on
# 127.0.0.1 with mutual TLS on client and peer ports, then three appliances
# on https://127.0.0.1:8443, 8444 and 8445 (nodes node-1..node-3 of cluster
# "dev"), sharing run.sh's development PKI (.dev/pki, made by
# scripts/dev-pki.sh), admin password and policies, and one SoftHSM token
# directory of their own (.dev/cluster/tokens: the nodes share it as
# production nodes share an HSM partition). node-1 is initialised with
# `strongroom init` and seeds etcd; node-2 and node-3 `strongroom join`.
# Data directories .dev/cluster/node-N, configurations node-N.toml, logs
# node-N.log (docs/cluster-design.md).
#   scripts/cluster.sh               start in the foreground (Ctrl-C stops all)
#   scripts/cluster.sh --background  start detached, write .dev/cluster/*.pid,
#                                    return once every node answers /readyz
#   scripts/cluster.sh --stop        stop detached nodes, then members
# Client ports 23791-23793 and peer ports 23801-23803 (not etcd's 2379, where
# a system etcd may listen); STRONGROOM_ETCD_PORT_BASE=N moves them to
# N+1..N+3 and N+11..N+13. Data directories are .dev/cluster/etcd-N, on the
# checkout's disk (never tmpfs: etcd's fsyncs are what makes a write durable).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEV="$ROOT/.dev"
STATE="$DEV/cluster"
PKI="$DEV/pki"
BASE_PORT="${STRONGROOM_ETCD_PORT_BASE:-23790}"
MEMBERS=(1 2 3)
MODE="foreground"
case "${1:-}" in
  "") ;;
  --background) MODE="background" ;;
  --stop) MODE="stop" ;;
  -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
  *) echo "cluster.sh: unknown argument '$1' (use --background or --stop)" >&2; exit 2 ;;
esac

client_port() { echo $((BASE_PORT + $1)); }
peer_port() { echo $((BASE_PORT + 10 + $1)); }

# alive PID (a zombie is not alive).
# shellcheck source=lib/process.sh
. "$ROOT/scripts/lib/process.sh"

member_pid() {  # N: the pid of a running member N, from its pid file
  local file="$STATE/etcd-$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = etcd ] &&
    echo "$pid"
}

NODES=(1 2 3)
node_port() { echo $((8442 + $1)); }

node_pid() {  # N: the pid of a running appliance N, from its pid file
  local file="$STATE/node-$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = strongroom ] &&
    echo "$pid"
}

stop_nodes() {
  local n pid
  for n in "${NODES[@]}"; do
    if pid="$(node_pid "$n")"; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
      echo "stopped appliance node-$n (pid $pid)"
    fi
    rm -f "$STATE/node-$n.pid"
  done
}

stop_members() {
  local n pid stopped=0
  for n in "${MEMBERS[@]}"; do
    if pid="$(member_pid "$n")"; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
      echo "stopped etcd member $n (pid $pid)"
      stopped=1
    fi
    rm -f "$STATE/etcd-$n.pid"
  done
  if [ "$stopped" = 0 ]; then echo "no etcd member was running"; fi
}

if [ "$MODE" = "stop" ]; then
  stop_nodes
  stop_members
  exit 0
fi

"$ROOT/scripts/setup.sh"
umask 077
mkdir -p "$STATE"
chmod 700 "$DEV" "$STATE"
"$ROOT/scripts/dev-pki.sh" "$PKI"

ETCDCTL=(etcdctl --cacert "$PKI/ca.pem" --cert "$PKI/etcd-client.pem" --key "$PKI/etcd-client.key")
ENDPOINTS=""
INITIAL=""
for n in "${MEMBERS[@]}"; do
  ENDPOINTS+="${ENDPOINTS:+,}https://127.0.0.1:$(client_port "$n")"
  INITIAL+="${INITIAL:+,}etcd-$n=https://127.0.0.1:$(peer_port "$n")"
done

for n in "${MEMBERS[@]}"; do
  if pid="$(member_pid "$n")"; then
    echo "cluster.sh: etcd member $n is already running (pid $pid); use --stop first" >&2
    exit 1
  fi
done
for n in "${NODES[@]}"; do
  if pid="$(node_pid "$n")"; then
    echo "cluster.sh: appliance node-$n is already running (pid $pid); use --stop first" >&2
    exit 1
  fi
done

for n in "${MEMBERS[@]}"; do
  # setsid: the members leave the terminal's process group, so --background
  # returns and Ctrl-C in the foreground reaches them only through the trap.
  setsid etcd --name "etcd-$n" --data-dir "$STATE/etcd-$n" \
    --listen-client-urls "https://127.0.0.1:$(client_port "$n")" \
    --advertise-client-urls "https://127.0.0.1:$(client_port "$n")" \
    --listen-peer-urls "https://127.0.0.1:$(peer_port "$n")" \
    --initial-advertise-peer-urls "https://127.0.0.1:$(peer_port "$n")" \
    --initial-cluster "$INITIAL" --initial-cluster-state new \
    --initial-cluster-token strongroom-dev \
    --cert-file "$PKI/etcd-member.pem" --key-file "$PKI/etcd-member.key" \
    --trusted-ca-file "$PKI/ca.pem" --client-cert-auth \
    --peer-cert-file "$PKI/etcd-member.pem" --peer-key-file "$PKI/etcd-member.key" \
    --peer-trusted-ca-file "$PKI/ca.pem" --peer-client-cert-auth \
    --logger zap --log-level warn \
    </dev/null >>"$STATE/etcd-$n.log" 2>&1 &
  echo $! >"$STATE/etcd-$n.pid"
done
if [ "$MODE" = "foreground" ]; then trap 'stop_nodes; stop_members; exit 0' INT TERM; fi

healthy=0
for _ in $(seq 1 300); do
  if "${ETCDCTL[@]}" --endpoints "$ENDPOINTS" --command-timeout=2s endpoint health >/dev/null 2>&1; then
    healthy=1
    break
  fi
  for n in "${MEMBERS[@]}"; do
    if ! member_pid "$n" >/dev/null; then
      echo "cluster.sh: etcd member $n exited; the end of $STATE/etcd-$n.log:" >&2
      tail -n 20 "$STATE/etcd-$n.log" >&2
      stop_members >/dev/null
      exit 1
    fi
  done
  sleep 0.1
done
if [ "$healthy" != 1 ]; then
  echo "cluster.sh: the members were not healthy within 30 s (logs in $STATE)" >&2
  stop_members >/dev/null
  exit 1
fi

# --- the appliances -----------------------------------------------------------
if [ -f "$ROOT/build/CMakeCache.txt" ]; then
  cmake --build "$ROOT/build" -j"${JOBS:-2}" --target strongroom >/dev/null
else
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$ROOT/build" -j"${JOBS:-2}" --target strongroom >/dev/null
fi
BIN="$ROOT/build/appliance/strongroom"

# One token for the three nodes (as production nodes share an HSM partition),
# apart from run.sh's single-node token.
# shellcheck source=lib/dev-setup.sh
. "$ROOT/scripts/lib/dev-setup.sh"
dev_token "$STATE" "the cluster's development token"

# run.sh's admin password and policies (made here when run.sh never ran).
dev_admin_and_policies "$DEV" "$PKI"
UNLOCKED=false
memlock="$(ulimit -l)"
if [ "$memlock" != "unlimited" ] && [ "$memlock" -lt 8192 ]; then UNLOCKED=true; fi

ETCD_URLS=""
for n in "${MEMBERS[@]}"; do ETCD_URLS+="${ETCD_URLS:+, }\"https://127.0.0.1:$(client_port "$n")\""; done
for n in "${NODES[@]}"; do
  cat > "$STATE/node-$n.toml" <<TOML
# Development configuration of appliance node-$n, written by scripts/cluster.sh.
listen = "127.0.0.1:$(node_port "$n")"
data_dir = "$STATE/node-$n"
policy_dir = "$DEV/policies"

[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
uri = "pkcs11:token=strongroom"
pin_file = "$STATE/pin"

[tls]
certificate = "$PKI/server.pem"
private_key = "$PKI/server.key"
client_ca = "$PKI/ca.pem"
crl = "$PKI/ca.crl.pem"

[memory]
arena_mib = 4
allow_unlocked = $UNLOCKED

[cluster]
node_name = "node-$n"
cluster_name = "dev"
endpoints = [$ETCD_URLS]
ca_file = "$PKI/ca.pem"
cert_file = "$PKI/etcd-client.pem"
key_file = "$PKI/etcd-client.key"
TOML
done

wait_node_ready() {  # N PID
  for _ in $(seq 1 300); do
    if curl -sS --fail --cacert "$PKI/ca.pem" "https://127.0.0.1:$(node_port "$1")/readyz" \
      >/dev/null 2>&1; then return 0; fi
    alive "$2" || return 1
    sleep 0.1
  done
  return 1
}

start_node() {  # N
  local n="$1" pid
  setsid "$BIN" serve --config "$STATE/node-$n.toml" </dev/null >>"$STATE/node-$n.log" 2>&1 &
  pid=$!
  echo "$pid" > "$STATE/node-$n.pid"
  if ! wait_node_ready "$n" "$pid"; then
    echo "cluster.sh: appliance node-$n did not become ready; the end of $STATE/node-$n.log:" >&2
    tail -n 20 "$STATE/node-$n.log" >&2
    stop_nodes >/dev/null
    stop_members >/dev/null
    exit 1
  fi
}

INIT_FLAGS=(--data-dir "$STATE/node-1" --module /usr/lib/softhsm/libsofthsm2.so
            --token-uri "pkcs11:token=strongroom" --pin-file "$STATE/pin")
JOIN_FLAGS=()
if [ "$UNLOCKED" = true ]; then INIT_FLAGS+=(--allow-unlocked-memory); JOIN_FLAGS+=(--allow-unlocked-memory); fi
# node-1 starts the cluster (its store seeds etcd); the others join it.
if [ ! -f "$STATE/node-1/store/data.mdb" ]; then
  mkdir -p "$STATE/node-1"
  "$BIN" init "${INIT_FLAGS[@]}" --node-name node-1 --admin-password-file "$DEV/admin-password" >/dev/null
fi
start_node 1
for n in 2 3; do
  if [ ! -f "$STATE/node-$n/store/data.mdb" ]; then
    mkdir -p "$STATE/node-$n"
    "$BIN" join --config "$STATE/node-$n.toml" "${JOIN_FLAGS[@]}" >/dev/null
  fi
  start_node "$n"
done

CURL="curl -sS --fail-with-body --cacert $PKI/ca.pem --cert $PKI/admin.pem --key $PKI/admin.key"
DCURL="curl -sS --fail-with-body --cacert $PKI/ca.pem --cert $PKI/decrypter.pem --key $PKI/decrypter.key"
SVP="apis/secret.grafana.app/v1beta1/namespaces/default/securevalues"
# A sample value, created on node-1, for the lines below.
if ! $CURL -o /dev/null "https://127.0.0.1:8443/$SVP/demo-db-password" 2>/dev/null; then
  $CURL -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d '{"metadata":{"name":"demo-db-password","labels":{"app":"demo"}},"spec":{"description":"Demo database password","value":"not-a-real-password","decrypters":["demo-service"]}}' \
    "https://127.0.0.1:8443/$SVP"
fi

cat <<EOF
Three appliances on one etcd cluster (cluster "dev"; state, configurations and logs in $STATE):
  node-1 https://127.0.0.1:8443   node-2 https://127.0.0.1:8444   node-3 https://127.0.0.1:8445
Create a secure value on node-1 (a new generated name each time):
  $CURL -X POST -H 'Content-Type: application/json' -d '{"metadata":{"generateName":"demo-"},"spec":{"description":"Demo API key","value":"not-a-real-secret","decrypters":["demo-service"]}}' https://127.0.0.1:8443/$SVP
Read on node-2 and node-3 (the same resourceVersions on every node):
  $CURL https://127.0.0.1:8444/$SVP
  $CURL https://127.0.0.1:8445/$SVP/demo-db-password
Decrypt as demo-service on node-2 and node-3:
  $DCURL -X POST https://127.0.0.1:8444/$SVP/demo-db-password/decrypt
  $DCURL https://127.0.0.1:8445/v1.0/secrets/default/demo-db-password
Readiness and the replica's metrics (staleness, applied revision, health) on each node:
  curl -sS --cacert $PKI/ca.pem https://127.0.0.1:8444/readyz
  $CURL https://127.0.0.1:8445/metrics | grep strongroom_cluster_
Which node does the background work (the etcd lease):
  ETCDCTL_API=3 ${ETCDCTL[*]} --endpoints $ENDPOINTS get --prefix /strongroom/dev/v1/leader/

etcd cluster up: $ENDPOINTS (data and logs in $STATE)
Try:
  ETCDCTL_API=3 ${ETCDCTL[*]} --endpoints $ENDPOINTS endpoint status -w table
  ETCDCTL_API=3 ${ETCDCTL[*]} --endpoints $ENDPOINTS put /strongroom/hello world
  curl -sS --cacert $PKI/ca.pem --cert $PKI/etcd-client.pem --key $PKI/etcd-client.key \\
    -X POST https://127.0.0.1:$(client_port 1)/v3/kv/range -d '{"key": "L3N0cm9uZ3Jvb20vaGVsbG8="}'
Stop with: scripts/cluster.sh --stop
EOF

if [ "$MODE" = "foreground" ]; then
  echo "(foreground: Ctrl-C stops the appliances and the members)"
  wait
fi

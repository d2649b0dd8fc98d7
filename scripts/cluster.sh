#!/usr/bin/env bash
# Brings up the replicated store of the several-node mode (issue 18): three
# etcd members on 127.0.0.1 with mutual TLS on client and peer ports, sharing
# run.sh's development PKI (.dev/pki, made by scripts/dev-pki.sh). The three
# appliances join in a later session (docs/cluster-design.md).
#   scripts/cluster.sh               start in the foreground (Ctrl-C stops them)
#   scripts/cluster.sh --background  start detached, write .dev/cluster/etcd-N.pid,
#                                    return once every member is healthy
#   scripts/cluster.sh --stop        stop detached members
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
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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
if [ "$MODE" = "foreground" ]; then trap 'stop_members; exit 0' INT TERM; fi

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

cat <<EOF
etcd cluster up: $ENDPOINTS (data and logs in $STATE)
Try:
  ETCDCTL_API=3 ${ETCDCTL[*]} --endpoints $ENDPOINTS endpoint status -w table
  ETCDCTL_API=3 ${ETCDCTL[*]} --endpoints $ENDPOINTS put /strongroom/hello world
  curl -sS --cacert $PKI/ca.pem --cert $PKI/etcd-client.pem --key $PKI/etcd-client.key \\
    -X POST https://127.0.0.1:$(client_port 1)/v3/kv/range -d '{"key": "L3N0cm9uZ3Jvb20vaGVsbG8="}'
Stop with: scripts/cluster.sh --stop
EOF

if [ "$MODE" = "foreground" ]; then
  echo "(foreground: Ctrl-C stops the members)"
  wait
fi

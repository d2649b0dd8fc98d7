#!/usr/bin/env bash
# Disaster-recovery drill (docs/disaster-recovery.md), end to end on one
# machine with two "hosts" in a temporary directory, each with its own data
# directory and SoftHSM token directory:
#   host A  runs the server; a client creates secure values while
#           `strongroom backup` takes an online backup; then A is stopped;
#   host B  gets A's token the way the procedure says for SoftHSM (the token
#           directory, a softhsm2.conf naming its new place, the PIN file)
#           and A's audit log, restores the backup (`strongroom restore`)
#           and starts. Checked on B: every value present in the backup
#           decrypts byte for byte (and every value acknowledged before the
#           backup began is present; none acknowledged after it ended is);
#           the audit log continues A's with a store.restore record and
#           verifies offline; A's revoked API token stays revoked.
# Exit 0 and a last line "DR drill passed ..." when everything holds.
#   scripts/dr-drill.sh [BINARY]   (default: build/appliance/strongroom)
#   DR_LOAD_SECONDS  seconds of write load around the backup (default 3)
#   DR_KEEP=1        keep the temporary directory (its path is printed)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STRONGROOM_BIN="$(realpath "${1:-$ROOT/build/appliance/strongroom}")"
LOAD_SECONDS="${DR_LOAD_SECONDS:-3}"
[ -x "$STRONGROOM_BIN" ] || { echo "no strongroom binary at $STRONGROOM_BIN (build first)" >&2; exit 2; }
# shellcheck source=lib/host.sh
. "$ROOT/scripts/lib/host.sh"

umask 077
WORK="$(mktemp -d)"
A="$WORK/host-a"
B="$WORK/host-b"
PKI="$WORK/pki"
BACKUP="$WORK/backup"
PIDS=()
LOAD_PID=""
cleanup() {
  if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
  local pid
  for pid in "${PIDS[@]}"; do host_stop "$pid" 2>/dev/null || true; done
  if [ "${DR_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() { echo "DR drill FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }
started="$(date +%s)"

step "host A: token, store, server"
mkdir -p "$A/data" "$B" "$WORK/values"
"$ROOT/scripts/dev-pki.sh" "$PKI" >/dev/null
host_make_token "$A" "$(openssl rand -hex 16)" "$(openssl rand -hex 16)"
chmod 700 "$A/data"
openssl rand -base64 18 | tr -d '\n' > "$WORK/admin-password"
host_cli "$A" init --admin-password-file "$WORK/admin-password" >/dev/null
host_config "$A" "$PKI"
host_start "$A"
PIDS+=("$HOST_PID")
A_PID="$HOST_PID"
admin_curl -o "$WORK/audit-key.pem" "$HOST_BASE/api/audit/public-key"

# new_value NAME: a random plaintext in WORK/values/NAME, created on A.
new_value() {
  openssl rand -base64 33 | tr -d '\n' > "$WORK/values/$1"
  create_value "$1" "$WORK/values/$1"
}
for i in $(seq -w 1 10); do new_value "seed-$i"; done

step "host A: a user with two API tokens, one revoked"
openssl rand -base64 18 | tr -d '\n' > "$WORK/user-password"
host_cli "$A" user add drill-user --role Viewer --namespace default \
  --password-file "$WORK/user-password" --policy-dir "$A/policies" >/dev/null
token_create() {
  host_cli "$A" token create --user drill-user --role Viewer --namespace default --ttl 1d \
    --policy-dir "$A/policies" 2>"$WORK/token.err"
}
revoked_token="$(token_create)"
revoked_id="$(sed -n 's/^token \([^ ]*\) for .*/\1/p' "$WORK/token.err")"
host_cli "$A" token revoke "$revoked_id" >/dev/null
bearer_code() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" \
    -H "Authorization: Bearer $1" "$(sv_url)"
}
[ "$(bearer_code "$revoked_token")" = 401 ] || fail "A accepts the revoked token"

step "host A: online backup under write load (${LOAD_SECONDS}s)"
# The load: DR_CLIENTS clients (default 3) creating values until told to
# stop; each name is appended to `acked` once the server acknowledged it
# (lines shorter than PIPE_BUF: appends from several clients do not mix).
: > "$WORK/acked"
(
  for c in $(seq 1 "${DR_CLIENTS:-3}"); do
    (
      i=0
      while [ ! -e "$WORK/stop-load" ]; do
        i=$((i + 1))
        name="load-$c-$(printf '%05d' "$i")"
        if new_value "$name" 2>/dev/null; then echo "$name" >> "$WORK/acked"; fi
      done
    ) &
  done
  wait
) &
LOAD_PID=$!
sleep "$(awk -v s="$LOAD_SECONDS" 'BEGIN { print s / 2 }')"
acked_before="$(wc -l < "$WORK/acked")"
backup_started="$(date +%s.%N)"
host_cli "$A" backup --to "$BACKUP" >/dev/null
backup_seconds="$(awk -v a="$backup_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
acked_after="$(wc -l < "$WORK/acked")"
sleep "$(awk -v s="$LOAD_SECONDS" 'BEGIN { print s / 2 }')"
touch "$WORK/stop-load"
wait "$LOAD_PID"
LOAD_PID=""
acked_total="$(wc -l < "$WORK/acked")"
echo "writes acknowledged: $acked_before before the backup, $((acked_after - acked_before)) during it (${backup_seconds} s), $((acked_total - acked_after)) after"
# The load ran throughout: writes were acknowledged on both sides of it.
[ "$acked_before" -gt 0 ] || fail "no write was acknowledged before the backup"
[ "$acked_total" -gt "$acked_after" ] || fail "no write was acknowledged after the backup"
host_stop "$A_PID"
PIDS=()

step "host B: the token moved (SoftHSM: token directory, softhsm2.conf, PIN file) and the audit log"
cp -a "$A/tokens" "$B/tokens"
host_softhsm_conf "$B"  # directories.tokendir names B's copy
cp -a "$A/pin" "$B/pin"
mkdir -p "$B/data"
chmod 700 "$B" "$B/data"
cp -a "$A/data/audit" "$B/data/audit"
host_config "$B" "$PKI"

step "host B: strongroom restore"
host_cli "$B" restore --from "$BACKUP"
host_start "$B"
PIDS+=("$HOST_PID")

step "host B: every value in the backup decrypts byte for byte"
admin_curl "$(sv_url)?limit=1000" | jq -r '.items[].metadata.name' | sort > "$WORK/on-b"
[ -z "$(admin_curl "$(sv_url)?limit=1000" | jq -r '.metadata.continue // empty')" ] ||
  fail "more than 1000 values: the drill lists one page only"
checked=0
while read -r name; do
  [ -f "$WORK/values/$name" ] || fail "B holds $name, which A never created"
  decrypt_value "$name" "$WORK/decrypted"
  cmp -s "$WORK/values/$name" "$WORK/decrypted" || fail "$name does not decrypt byte for byte on B"
  checked=$((checked + 1))
done < "$WORK/on-b"
for i in $(seq -w 1 10); do grep -qx "seed-$i" "$WORK/on-b" || fail "seed-$i is missing on B"; done
head -n "$acked_before" "$WORK/acked" | while read -r name; do
  grep -qx "$name" "$WORK/on-b" || fail "$name, acknowledged before the backup began, is missing"
done
tail -n +"$((acked_after + 1))" "$WORK/acked" | while read -r name; do
  if grep -qx "$name" "$WORK/on-b"; then fail "$name, acknowledged after the backup, is on B"; fi
done
echo "$checked values decrypt on B ($(grep -c '^load-' "$WORK/on-b" || true) of them written under load)"

step "host B: A's revoked API token stays revoked"
[ "$(bearer_code "$revoked_token")" = 401 ] || fail "B accepts A's revoked token"
host_cli "$B" token list > "$WORK/tokens.list"
awk -v id="$revoked_id" '$1 == id { found = 1; exit ($NF == "-") } END { exit !found }' \
  "$WORK/tokens.list" || fail "token list on B does not show $revoked_id as revoked"
# A token issued on B works, so the 401 above is the revocation.
fresh_token="$(host_cli "$B" token create --user drill-user --role Viewer --namespace default \
  --ttl 1h --policy-dir "$B/policies" 2>/dev/null)"
[ "$(bearer_code "$fresh_token")" = 200 ] || fail "a token issued on B is refused"
new_value "after-restore"
decrypt_value "after-restore" "$WORK/decrypted"
cmp -s "$WORK/values/after-restore" "$WORK/decrypted" || fail "a value written on B does not decrypt"
host_stop "$HOST_PID"
PIDS=()

step "host B: the audit log continues A's with a restore record and verifies offline"
"$STRONGROOM_BIN" audit verify --log "$B/data/audit" --public-key "$WORK/audit-key.pem" \
  --require-sealed
[ "$(head -n 1 "$A/data/audit/current.jsonl")" = "$(head -n 1 "$B/data/audit/current.jsonl")" ] ||
  fail "B's log does not start with A's"
a_records="$(wc -l < "$A/data/audit/current.jsonl")"
cmp -s "$A/data/audit/current.jsonl" <(head -n "$a_records" "$B/data/audit/current.jsonl") ||
  fail "B's log does not continue A's unchanged"
restore_line="$(grep -n '"action":"store.restore"' "$B/data/audit/current.jsonl" | cut -d: -f1 || true)"
[ "$(echo "$restore_line" | grep -c .)" = 1 ] || fail "B's log holds $(echo "$restore_line" | grep -c .) store.restore records"
[ "$restore_line" -gt "$a_records" ] || fail "the store.restore record is not after A's records"
echo "B's log: A's $a_records lines, then store.restore at line $restore_line"

echo "DR drill passed in $(( $(date +%s) - started )) s: $checked values restored and decrypted byte for byte; backup ${backup_seconds} s under load, $((acked_after - acked_before)) writes acknowledged during it"

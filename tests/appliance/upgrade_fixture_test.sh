#!/usr/bin/env bash
# Upgrade test (CTest upgrade_fixture_test): opens a host written by an older
# Strongroom (tests/fixtures/upgrade-vN/, see its README) with the binary
# being built, on a copy in a temporary directory:
#   1. the server starts, migrating the store forward with exactly one
#      audited store.migrate record (from N to the current schema);
#   2. every secure value and the Sensu secret decrypt byte for byte;
#   3. the revoked API token stays revoked, the live one works;
#   4. the audit log verifies offline (sealed) across the migration record;
#   5. a restart (the token's trust-anchor checks) migrates nothing again;
#   6. a backup of the old schema (the fixture's store) restores and migrates;
#   7. a store of a schema newer than this binary's is refused by the CLI
#      and the server, in one line naming both versions.
#   tests/appliance/upgrade_fixture_test.sh STRONGROOM STORE_TOOL FIXTURE_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "$#" -ne 3 ]; then echo "usage: $0 STRONGROOM STORE_TOOL FIXTURE_DIR" >&2; exit 2; fi
STRONGROOM_BIN="$(realpath "$1")"
STORE_TOOL="$(realpath "$2")"
FIXTURE="$(realpath "$3")"
# shellcheck source=../../scripts/lib/host.sh
. "$ROOT/scripts/lib/host.sh"

umask 077
WORK="$(mktemp -d)"
HOST="$WORK/host"
PKI="$WORK/pki"
HOST_PID=""
cleanup() {
  if [ -n "$HOST_PID" ]; then host_stop "$HOST_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# The copy: modes as the old host had them (git keeps none), SoftHSM's
# configuration pointed at the copy.
cp -r "$FIXTURE" "$HOST"
chmod -R u+rwX,go-rwx "$HOST"
sed "s|@FIXTURE_DIR@|$HOST|" "$FIXTURE/softhsm2.conf.in" > "$HOST/softhsm2.conf"
"$ROOT/scripts/dev-pki.sh" "$PKI" >/dev/null
host_config "$HOST" "$PKI"
OLD_SCHEMA="$(cat "$FIXTURE/schema_version")"
audit_show() { "$STRONGROOM_BIN" audit show --log "$HOST/data/audit" --json --limit 100000 "$@"; }
migrations() { audit_show --action store.migrate | grep -c . || true; }
[ "$(migrations)" = 0 ] || fail "the fixture already holds a migration record"

step "start the current server on the schema $OLD_SCHEMA fixture"
host_start "$HOST"
grep -q "migrated the store from schema version $OLD_SCHEMA to" "$HOST/server.log" ||
  fail "the server did not say it migrated the store"
[ "$(migrations)" = 1 ] || fail "expected one store.migrate record, found $(migrations)"
record="$(audit_show --action store.migrate)"
NEW_SCHEMA="$(echo "$record" | jq -r '.details.to_schema_version')"
[ "$(echo "$record" | jq -r '.details.from_schema_version')" = "$OLD_SCHEMA" ] ||
  fail "the migration record does not name schema $OLD_SCHEMA: $record"
[ "$NEW_SCHEMA" -gt "$OLD_SCHEMA" ] || fail "the migration record goes to $NEW_SCHEMA"
echo "store.migrate: $OLD_SCHEMA -> $NEW_SCHEMA"

step "every value decrypts byte for byte"
n=0
for f in "$HOST"/values/*; do
  decrypt_value "$(basename "$f")" "$WORK/decrypted"
  cmp -s "$f" "$WORK/decrypted" || fail "$(basename "$f") does not decrypt to its fixture bytes"
  n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "the fixture has $n values"
service_curl "$HOST_BASE/api/enterprise/secrets/v1/namespaces/default/secrets/fixture-db/value" |
  jq -j '.value' > "$WORK/decrypted"
cmp -s "$HOST/values/fixture-db-password" "$WORK/decrypted" ||
  fail "the Sensu secret fixture-db does not resolve to its value"
echo "$n values and the Sensu secret decrypt"

step "the revoked API token stays revoked"
read -r _ revoked_id revoked_token < <(grep '^revoked ' "$HOST/tokens.txt")
read -r _ live_id live_token < <(grep '^live ' "$HOST/tokens.txt")
bearer() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" \
    -H "Authorization: Bearer $1" "$(sv_url)"
}
[ "$(bearer "$revoked_token")" = 401 ] || fail "the revoked token $revoked_id is accepted"
[ "$(bearer "$live_token")" = 200 ] || fail "the live token $live_id is refused"
host_cli "$HOST" token list > "$WORK/tokens.list"
awk -v id="$revoked_id" '$1 == id { exit ($NF == "-") }' "$WORK/tokens.list" ||
  fail "token list does not show $revoked_id as revoked"
host_stop "$HOST_PID"
HOST_PID=""

step "the audit log verifies offline across the migration record"
"$STRONGROOM_BIN" audit verify --log "$HOST/data/audit" --public-key "$HOST/audit-key.pem" \
  --require-sealed

step "a restart passes the trust-anchor checks and migrates nothing again"
host_start "$HOST"
decrypt_value fixture-db-password "$WORK/decrypted"
cmp -s "$HOST/values/fixture-db-password" "$WORK/decrypted" || fail "no decrypt after restart"
host_stop "$HOST_PID"
HOST_PID=""
[ "$(migrations)" = 1 ] || fail "a restart wrote another migration record"
"$STRONGROOM_BIN" audit verify --log "$HOST/data/audit" --public-key "$HOST/audit-key.pem" \
  --require-sealed >/dev/null

step "a backup of the old schema restores into this build and is migrated"
# The fixture's store is what `strongroom backup` of the old version wrote
# (a compacted copy); its manifest names the KEK the old init recorded.
mkdir "$WORK/old-backup"
cp "$FIXTURE/data/store/data.mdb" "$WORK/old-backup/data.mdb"
kek="$(grep -o '"kek_id":"kek-[0-9a-f]*"' "$FIXTURE/data/audit/current.jsonl" | head -n 1 | cut -d'"' -f4)"
jq -n --arg kek "$kek" --argjson schema "$OLD_SCHEMA" \
  '{format:1, created:"fixture", created_micros:0, schema_version:$schema,
    resource_version_at_least:0, token_label:"strongroom", keks_needed:[$kek]}' \
  > "$WORK/old-backup/manifest.json"
host_cli "$HOST" restore --from "$WORK/old-backup" 2>"$WORK/restore.err" ||
  { cat "$WORK/restore.err" >&2; fail "restoring a schema $OLD_SCHEMA backup"; }
grep -q "migrated the store from schema version $OLD_SCHEMA to $NEW_SCHEMA" "$WORK/restore.err" ||
  fail "restore did not migrate the old backup"
[ "$(migrations)" = 2 ] || fail "expected a second store.migrate record (restore), found $(migrations)"
host_start "$HOST"
for f in "$HOST"/values/*; do
  decrypt_value "$(basename "$f")" "$WORK/decrypted"
  cmp -s "$f" "$WORK/decrypted" || fail "$(basename "$f") does not decrypt after the restore"
done
[ "$(bearer "$revoked_token")" = 401 ] || fail "the revoked token is accepted after the restore"
host_stop "$HOST_PID"
HOST_PID=""
"$STRONGROOM_BIN" audit verify --log "$HOST/data/audit" --public-key "$HOST/audit-key.pem" \
  --require-sealed >/dev/null

step "a store of a newer schema is refused in one line naming both versions"
NEWER=$((NEW_SCHEMA + 1))
printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((NEWER >> 24 & 255)) $((NEWER >> 16 & 255)) \
  $((NEWER >> 8 & 255)) $((NEWER & 255)))" > "$WORK/newer"
"$STORE_TOOL" restore "$HOST/data" meta schema_version "$WORK/newer"
check_refusal() {  # WHAT FILE: FILE holds the command's stderr
  local lines
  lines="$(grep -c . "$2" || true)"
  [ "$lines" = 1 ] || { cat "$2" >&2; fail "$1 wrote $lines lines, not one"; }
  grep -q "schema version $NEWER" "$2" || fail "$1 does not name schema $NEWER: $(cat "$2")"
  grep -q "schema version $NEW_SCHEMA" "$2" || fail "$1 does not name schema $NEW_SCHEMA: $(cat "$2")"
  echo "$1: $(cat "$2")"
}
if host_cli "$HOST" keys list >/dev/null 2>"$WORK/cli.err"; then fail "the CLI opened a newer store"; fi
check_refusal "strongroom keys list" "$WORK/cli.err"
if SOFTHSM2_CONF="$HOST/softhsm2.conf" "$STRONGROOM_BIN" serve --config "$HOST/strongroom.toml" \
    >/dev/null 2>"$WORK/serve.err"; then
  fail "the server started on a newer store"
fi
check_refusal "strongroom serve" "$WORK/serve.err"
echo "PASS"

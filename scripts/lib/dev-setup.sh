# scripts/lib/dev-setup.sh — sourced (not run) by scripts/run.sh and
# scripts/cluster.sh: the development token, admin password and policies
# they share.

# dev_token DIR WHAT: the development token 'strongroom' (SoftHSM) whose
# configuration, token directory and PIN files live in DIR, made once;
# exports SOFTHSM2_CONF naming it. WHAT names it in the one line printed when
# it is created. The PINs are random, kept in DIR/pin and DIR/so-pin (0600),
# never printed.
dev_token() {
  local dir="$1" what="$2"
  export SOFTHSM2_CONF="$dir/softhsm2.conf"
  if [ ! -f "$SOFTHSM2_CONF" ]; then
    mkdir -p "$dir/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
      "$dir/tokens" > "$SOFTHSM2_CONF"
  fi
  if [ ! -f "$dir/pin" ]; then
    openssl rand -hex 16 | tr -d '\n' > "$dir/pin"
    openssl rand -hex 16 | tr -d '\n' > "$dir/so-pin"
    chmod 600 "$dir/pin" "$dir/so-pin"
  fi
  if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label:.*strongroom"; then
    # softhsm2-util takes PINs only as arguments; this is a development token.
    softhsm2-util --init-token --free --label strongroom \
      --pin "$(cat "$dir/pin")" --so-pin "$(cat "$dir/so-pin")" >/dev/null
    echo "created $what 'strongroom' in $dir/tokens"
  fi
}

# dev_admin_and_policies DEV PKI: the admin password (DEV/admin-password,
# random, 0600, made once, never printed) and the policy directory
# DEV/policies: the default policy files, and dev-identities.json mapping
# PKI/admin.pem to user "admin" and binding demo-service as Decrypter in
# namespace "default". Uses $ROOT (the checkout) for the default policies.
dev_admin_and_policies() {
  local dev="$1" pki="$2" f fingerprint
  if [ ! -f "$dev/admin-password" ]; then
    openssl rand -base64 18 | tr -d '\n' > "$dev/admin-password"
    chmod 600 "$dev/admin-password"
  fi
  mkdir -p "$dev/policies"
  for f in "$ROOT"/policies/default/*.json; do
    [ -e "$f" ] || continue
    cp "$f" "$dev/policies/"
  done
  fingerprint="$(openssl x509 -in "$pki/admin.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')"
  cat > "$dev/policies/dev-identities.json" <<JSON
{
  "certificates": [ {"sha256": "$fingerprint", "user": "admin"} ],
  "bindings": [ {"service": "demo-service", "role": "Decrypter", "namespace": "default"} ]
}
JSON
}

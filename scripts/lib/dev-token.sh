# scripts/lib/dev-token.sh — sourced (not run) by scripts/run.sh and
# scripts/cluster.sh.

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

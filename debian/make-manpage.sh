#!/bin/sh
# make-manpage.sh BINARY VERSION: prints strongroom(1), made by help2man from
# `strongroom --help`, with every command's own --help in a COMMANDS
# section and the files and first steps of the package.
set -eu
BIN="$1"
VERSION="$2"
INCLUDE="$(mktemp)"
trap 'rm -f "$INCLUDE"' EXIT

# roff_block TEXT: TEXT verbatim, escaped for roff.
roff_block() {
  printf '.nf\n'
  printf '%s\n' "$1" | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
  printf '.fi\n'
}

{
  printf '[COMMANDS]\n'
  for cmd in init serve tokend "keys list" backup restore "anchor show" "anchor adopt" \
             "user add" "user bind" "user passwd" "user del" "user list" \
             "token create" "token list" "token revoke" "audit verify" "audit show"; do
    printf '.SS "strongroom %s"\n' "$cmd"
    # shellcheck disable=SC2086
    roff_block "$("$BIN" $cmd --help 2>&1 | sed -e '/^Usage:/d')"
  done
  cat <<'ROFF'
[FILES]
.TP
.I /etc/strongroom/strongroom.toml
Configuration of \fBstrongroom serve\fR (every key commented).
.TP
.I /etc/strongroom/policies/
Policy files: roles, bindings, certificate mappings; re-read by
\fBsystemctl reload strongroom\fR.
.TP
.I /etc/strongroom/softhsm2.conf
SoftHSM configuration (\fBSOFTHSM2_CONF\fR) naming the token directory.
.TP
.I /var/lib/strongroom/
Data directory: the LMDB store and the audit log (mode 0700, user strongroom).
.TP
.I /etc/default/strongroom-tokend
The token that \fBstrongroom tokend\fR (strongroom-tokend.service) opens:
PKCS#11 module, token URI and PIN file.
.TP
.I /var/lib/strongroom-token/
The SoftHSM token directory and the PIN file (mode 0700, user
strongroom-tokend).
.TP
.I /run/strongroom-tokend/tokend.sock
The token service's socket, in a directory only the group strongroom may
enter; the server reaches the token through it ([token] service).
.TP
.I /usr/share/doc/strongroom/operator-guide.md.gz
Installing, initialising, running, backing up and upgrading the appliance.
[ENVIRONMENT]
.TP
.B SOFTHSM2_CONF
SoftHSM's configuration file; set to /etc/strongroom/softhsm2.conf by
strongroom-tokend.service. Set it the same way when you open the token
yourself (softhsm2-util, or a command without \fB--token-service\fR).
.TP
.B NOTIFY_SOCKET
Set by systemd: \fBstrongroom serve\fR reports READY=1, RELOADING=1 and
STOPPING=1 on it, \fBstrongroom tokend\fR READY=1 and STOPPING=1.
[SIGNALS]
\fBstrongroom serve\fR stops gracefully on SIGTERM or SIGINT (the audit log is
sealed with a signed checkpoint) and re-reads the policy files and the CRL on
SIGHUP.
[SEE ALSO]
The operator guide, /usr/share/doc/strongroom/operator-guide.md.gz.
ROFF
} > "$INCLUDE"

LC_ALL=C.UTF-8 help2man --locale=C.UTF-8 --no-info --no-discard-stderr --version-string="$VERSION" \
  --name="hardened secrets appliance with keys in a PKCS#11 token" \
  --section=1 --include="$INCLUDE" "$BIN" |
  sed -e 's/\xe2\x80\x94/\\(em/g'   # the em dash of the one-line description, as roff

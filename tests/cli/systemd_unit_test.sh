#!/usr/bin/env bash
# dist/systemd/profile-agent.service passes `systemd-analyze verify` (directives, ExecStart's
# binary: ours, as built), and its ExecStart's options are ones `profile` accepts: the command
# line, with the default file's settings, gets as far as opening the spool (a usage error would
# exit 2 first). Skips (77) where systemd-analyze is missing.
set -euo pipefail
profile=$1 unit=$2 defaults=$3
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/profile|$profile|" "$unit" > "$tmp/profile-agent.service"
systemd-analyze verify "$tmp/profile-agent.service"
# ExecStart as systemd would run it, with /etc/default/profile-agent's values, the spool in
# the temporary directory and --every with a help request: parsing only, no capture.
set -a
# shellcheck disable=SC1090
. "$defaults"
set +a
line=$(sed -n 's/^ExecStart=//p' "$unit")
line=${line//\/usr\/bin\/profile/$profile}
line=${line//\/var\/lib\/profile\/spool/$tmp/spool}
line=${line//\$\{PROFILE_PUSH_URL\}/$PROFILE_PUSH_URL}
line=${line//\$PROFILE_ARGS/$PROFILE_ARGS}
# shellcheck disable=SC2086
$line --help >/dev/null
echo "ok: $line"

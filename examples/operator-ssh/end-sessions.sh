#!/usr/bin/env bash
# Ends the open SSH sessions of a revoked lease: the KRL stops new logins, this ends the ones
# already open. For the broker's revocation hook (hooks.revocation_url): give it the lease id,
# or the hook's JSON body ({"event":"lease.revoked","lease":...,"kind":"ssh",...}) on stdin.
#   end-sessions.sh LEASE_ID
#   end-sessions.sh < payload.json
# Needs `ExposeAuthInfo yes` in sshd_config: each session's SSH_USER_AUTH file holds the
# certificate it logged in with, whose key id is the lease id. Run as root on the host.
set -uo pipefail
lease=${1:-}
if [ -z "$lease" ]; then
  lease=$(python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["lease"] if p.get("kind")=="ssh" else "")')
fi
[ -n "$lease" ] || exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ended=0
for env in /proc/[0-9]*/environ; do
  pid=${env#/proc/}; pid=${pid%/environ}
  auth=$({ tr '\0' '\n' <"$env"; } 2>/dev/null | sed -n 's/^SSH_USER_AUTH=//p')
  [ -n "$auth" ] && [ -r "$auth" ] || continue
  # "publickey <type>-cert-v01@openssh.com <base64>": the certificate of this session.
  awk '$1 == "publickey" && $2 ~ /-cert-v01@openssh.com$/ {print $2, $3}' "$auth" >"$tmp/c-cert.pub"
  [ -s "$tmp/c-cert.pub" ] || continue
  id=$(ssh-keygen -L -f "$tmp/c-cert.pub" 2>/dev/null | sed -n 's/^ *Key ID: "\(.*\)"$/\1/p')
  [ "$id" = "$lease" ] || continue
  # The nearest sshd above the session's processes is the session's own (never the listener,
  # which is further up): ending it closes the connection.
  p=$pid
  while [ "$p" -gt 1 ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" != sshd ]; do
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
  done
  [ "$p" -gt 1 ] && sessions="${sessions:-} $p"
done
for p in $(printf '%s\n' ${sessions:-} | sort -u); do
  kill -HUP "$p" 2>/dev/null && ended=$((ended + 1))
done
echo "end-sessions: $ended session(s) of lease $lease ended"

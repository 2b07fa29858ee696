#!/usr/bin/env bash
# Keeps sshd's RevokedKeys file in step with the broker's KRL (GET /v1/ssh/krl).
#   krl-fetch.sh [--loop SECONDS]
# Environment: JITBROKER_URL, JITBROKER_CA (the broker's CA chain), KRL_FILE (default
# /etc/ssh/jitbroker.krl). The KRL is fetched to a temp file beside KRL_FILE, checked with
# ssh-keygen, and renamed into place: sshd refuses every key while the file is unreadable or
# malformed, so it is never written in place. A failed fetch keeps the last good KRL.
set -uo pipefail
: "${JITBROKER_URL:?set JITBROKER_URL}" "${JITBROKER_CA:?set JITBROKER_CA}"
KRL_FILE=${KRL_FILE:-/etc/ssh/jitbroker.krl}

fetch_once() {
  local tmp
  tmp=$(mktemp "$KRL_FILE.XXXXXX") || return 1
  if curl -sf --max-time 10 --cacert "$JITBROKER_CA" -o "$tmp" "$JITBROKER_URL/v1/ssh/krl" &&
     ssh-keygen -Q -l -f "$tmp" >/dev/null 2>&1; then
    chmod 0644 "$tmp" && mv -f "$tmp" "$KRL_FILE"
  else
    rm -f "$tmp"
    echo "krl-fetch: could not refresh $KRL_FILE; the last one stays" >&2
    return 1
  fi
}

if [ "${1:-}" = "--loop" ]; then
  while true; do fetch_once; sleep "${2:-10}"; done
fi
fetch_once

# Shared by the example scripts: a throwaway `jitbroker dev` on a free loopback port.
# Sets JITBROKER_URL, JITBROKER_CA, DATA (the data dir), JITCTL and WORK; stops it on exit.
# BIN_DIR names the folder with jitbroker and jitctl (default: the repo's ./build).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# Absolute, as the scripts may change directory (`BIN_DIR=build examples/ci-deploy/run.sh`).
BIN_DIR=${BIN_DIR:-$here/../build}
for b in jitbroker jitctl; do
  [ -x "$BIN_DIR/$b" ] || fail "BIN_DIR=$BIN_DIR has no $b (build it: scripts/build, or set BIN_DIR)"
done
BIN_DIR=$(cd "$BIN_DIR" && pwd)
JITCTL="$BIN_DIR/jitctl"
WORK=$(mktemp -d)
DATA="$WORK/var"

start_broker() {
  "$BIN_DIR/jitbroker" dev --data-dir "$DATA" --listen 127.0.0.1:0 >"$WORK/broker.out" 2>"$WORK/broker.err" &
  BROKER_PID=$!
  for _ in $(seq 100); do
    port=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$WORK/broker.out" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    # A broker that has exited will not start: say why now rather than after the whole wait.
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
      rc=0; wait "$BROKER_PID" || rc=$?
      BROKER_PID=
      fail "jitbroker exited with status $rc before listening; its stderr:
$(cat "$WORK/broker.err")"
    fi
    sleep 0.1
  done
  [ -n "${port:-}" ] || fail "jitbroker did not start within 10 s; its stderr:
$(cat "$WORK/broker.err")"
  export JITBROKER_URL="https://127.0.0.1:$port" JITBROKER_CA="$DATA/tls/ca.pem"
}

cleanup() {
  [ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  for pid in ${EXTRA_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

#!/usr/bin/env bash
# Plays the service-startup story: a standing ticket, `jitctl agent --once` as the init step,
# then the service talks mTLS to a server that trusts only the broker's CA and checks its CRL.
# Closing the ticket revokes the certificate: the server refuses it with the fresh CRL.
source "$(dirname "$0")/../lib.sh"
start_broker
SVC=payments

step "a standing (standard) ticket lets service '$SVC' hold a certificate"
"$JITCTL" dev ticket --data-dir "$DATA" --id RITM0100 --state approved --kind standard \
  --subject "$SVC" --access service --window 24h
export JITBROKER_SUBJECT_TOKEN=$("$JITCTL" dev subject-token --data-dir "$DATA" --sub "$SVC" \
  --claim service=$SVC)

step "the agent fetches the first certificate (init step: --once)"
"$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --chain-out "$WORK/ca.pem" --ready-file "$WORK/ready" --once
[ -e "$WORK/ready" ] || fail "no readiness file"
[ "$(stat -c %a "$WORK/tls.key")" = 600 ] || fail "the key is not 0600"
openssl x509 -noout -ext subjectAltName -in "$WORK/tls.crt" | grep -q "URI:spiffe://jitbroker.dev/svc/$SVC" \
  || fail "the certificate does not name the service"

# A server that requires client certificates from the broker's CA and checks the CRL.
serve() {
  curl -sf --cacert "$JITBROKER_CA" "$JITBROKER_URL/v1/ca/crl.pem" > "$WORK/crl.pem"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$WORK/srv.key" -out "$WORK/srv.crt" -days 1 2>/dev/null
  timeout 10 openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/srv.crt" -key "$WORK/srv.key" \
    -CAfile "$WORK/ca.pem" -Verify 2 -verify_return_error -crl_check -CRL "$WORK/crl.pem" \
    -naccept 1 -www >"$WORK/server.log" 2>&1 &
  sleep 0.5
}
connect() {
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -cert "$WORK/tls.crt" \
    -key "$WORK/tls.key" -brief 2>&1 || true
}

step "the service connects over mTLS"
serve
connect | grep -q "CONNECTION ESTABLISHED" || fail "the handshake failed: $(cat "$WORK/server.log")"

step "the standing ticket is closed: the certificate is revoked"
"$JITCTL" dev ticket --data-dir "$DATA" --id RITM0100 --state closed
set +e; "$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/new.crt" \
  --key-out "$WORK/new.key" --once 2>"$WORK/agent.err"; rc=$?; set -e
[ "$rc" = 5 ] || fail "the agent should exit 5 for a closed ticket, got $rc"
serve
connect >/dev/null
grep -q "certificate revoked" "$WORK/server.log" || fail "the server accepted a revoked certificate"
echo "service-startup: ok"

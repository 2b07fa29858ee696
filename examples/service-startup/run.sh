#!/usr/bin/env bash
# Plays the service-startup story: a standing ticket, `jitctl agent --once` as the init step,
# then the service talks mTLS to a server that trusts only the broker's CA and checks its CRL.
# Closing the ticket revokes the certificate: the server refuses it with the fresh CRL.
source "$(dirname "$0")/../lib.sh"
start_broker
SVC=payments

step "a standing (standard) ticket lets service '$SVC' hold a certificate"
# Its subjects: the service account (the bootstrap token's sub) and the SPIFFE id its
# certificate carries, which is the identity that renews over mTLS.
SPIFFE="spiffe://jitbroker.dev/svc/$SVC"
"$JITCTL" dev ticket --data-dir "$DATA" --id RITM0100 --state approved --kind standard \
  --subject "$SVC" --subject "$SPIFFE" --access service --window 24h
"$JITCTL" dev subject-token --data-dir "$DATA" --sub "$SVC" --claim service=$SVC > "$WORK/bootstrap.token"
leases() { "$JITCTL" leases --data-dir "$DATA" --ticket RITM0100 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))'; }

step "the agent fetches the first certificate with the bootstrap token (init step: --once)"
"$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --chain-out "$WORK/ca.pem" --ready-file "$WORK/ready" --ttl 9s \
  --subject-token-file "$WORK/bootstrap.token" --once | tee "$WORK/agent1.out"
grep -q " issued with the subject token" "$WORK/agent1.out" || fail "the first certificate is not reported as issued"
[ -e "$WORK/ready" ] || fail "no readiness file"
[ "$(stat -c %a "$WORK/tls.key")" = 600 ] || fail "the key is not 0600"
openssl x509 -noout -ext subjectAltName -in "$WORK/tls.crt" | grep -q "URI:$SPIFFE" \
  || fail "the certificate does not name the service"

step "the bootstrap token is gone; a restart with a valid certificate issues nothing"
rm "$WORK/bootstrap.token"
"$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --subject-token-file "$WORK/bootstrap.token" --once | tee "$WORK/agent2.out"
grep -q " reused " "$WORK/agent2.out" || fail "the agent did not reuse the certificate"
[ "$(leases)" = 1 ] || fail "a restart issued a new certificate"

step "the agent renews over mTLS only, three times (3 s certificates for the demo)"
"$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --chain-out "$WORK/ca.pem" --ttl 3s \
  --subject-token-file "$WORK/bootstrap.token" > "$WORK/agent3.out" 2>&1 &
AGENT=$!; EXTRA_PIDS=$AGENT
for _ in $(seq 300); do
  [ "$(grep -c " renewed over mTLS" "$WORK/agent3.out")" -ge 3 ] && break
  kill -0 $AGENT 2>/dev/null || fail "the agent exited: $(cat "$WORK/agent3.out")"
  sleep 0.1
done
kill $AGENT; wait $AGENT || fail "the agent did not stop cleanly on SIGTERM"
cat "$WORK/agent3.out"
[ "$(grep -c " renewed over mTLS" "$WORK/agent3.out")" -ge 3 ] || fail "fewer than three renewals over mTLS"
grep -q "subject token" "$WORK/agent3.out" && fail "a renewal used the subject token"
[ "$(leases)" -ge 4 ] || fail "the renewals are not leases of the ticket"
openssl x509 -noout -ext subjectAltName -in "$WORK/tls.crt" | grep -q "URI:$SPIFFE" \
  || fail "the renewed certificate does not name the service"

step "the ticket is updated (its window extended): the renewed certificates stay valid"
"$JITCTL" dev ticket --data-dir "$DATA" --id RITM0100 --state approved --kind standard \
  --subject "$SVC" --subject "$SPIFFE" --access service --window 48h
"$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --chain-out "$WORK/ca.pem" --once | tee "$WORK/agent4.out"
grep -q " renewed over mTLS\| reused " "$WORK/agent4.out" || fail "the certificate no longer renews"

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

step "the standing ticket is closed: the certificate is revoked; the agent, restarted, exits 5"
"$JITCTL" dev ticket --data-dir "$DATA" --id RITM0100 --state closed
# No token: the agent finds the certificate on disk revoked (OCSP), and the broker refusing it
# says the ticket is closed, which is final (RestartPreventExitStatus=5).
set +e; "$JITCTL" agent --ticket RITM0100 --grant service --cert-out "$WORK/tls.crt" \
  --key-out "$WORK/tls.key" --subject-token-file "$WORK/bootstrap.token" --once 2>"$WORK/agent.err"
rc=$?; set -e
cat "$WORK/agent.err"
[ "$rc" = 5 ] || fail "the agent should exit 5 for a closed ticket, got $rc"
grep -q "is revoked; not reusing it" "$WORK/agent.err" || fail "the agent reused a revoked certificate"
serve
connect >/dev/null
grep -q "certificate revoked" "$WORK/server.log" || fail "the server accepted a revoked certificate"
echo "service-startup: ok"

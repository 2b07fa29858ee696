#!/usr/bin/env bash
# Plays the operator SSH story against a real sshd on 127.0.0.1, set up as a host would be
# (docs/operator-ssh.md): the broker's CA in TrustedUserCAKeys, principals per account, the KRL
# kept fresh by krl-fetch.sh. An operator logs in with `jitctl ssh`; closing the ticket ends
# the open session (end-sessions.sh, the host side of the revocation hook) and the refreshed
# KRL refuses the certificate.
source "$(dirname "$0")/../lib.sh"
ex=$here/operator-ssh
# `jitbroker dev` reads ./policies/default: this example's policy.
mkdir -p "$WORK/policies/default" && cp "$ex/policy.yaml" "$WORK/policies/default/"
cd "$WORK"
start_broker
OPERATOR=ops@example.com
USER_NAME=$(id -un)
HOST=$WORK/host
mkdir -p "$HOST/principals"

step "the host trusts the broker's SSH CA and lets ops-admin log in as $USER_NAME"
curl -sf --cacert "$JITBROKER_CA" "$JITBROKER_URL/v1/ssh/ca.pub" >"$HOST/jitbroker_ca.pub"
echo ops-admin >"$HOST/principals/$USER_NAME"
export KRL_FILE=$HOST/jitbroker.krl
"$ex/krl-fetch.sh" || fail "the first KRL fetch failed"
ssh-keygen -q -t ed25519 -N '' -f "$HOST/host_key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|/etc/ssh/jitbroker_ca.pub|$HOST/jitbroker_ca.pub|" \
    -e "s|/etc/ssh/principals/%u|$HOST/principals/%u|" \
    -e "s|/etc/ssh/jitbroker.krl|$KRL_FILE|" "$ex/sshd_config" >"$HOST/sshd_config"
printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n' \
  "$port" "$HOST/host_key" "$HOST/sshd.pid" >>"$HOST/sshd_config"
# As OpenSSH's regress tests run it: absolute path, foreground, logging to stderr. As root,
# sshd wants /run/sshd: a private mount namespace gives it one without touching the machine.
if [ "$(id -u)" = 0 ]; then
  unshare --mount sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"' \
    sshd /usr/sbin/sshd -D -e -f "$HOST/sshd_config" 2>"$HOST/sshd.log" &
else
  /usr/sbin/sshd -D -e -f "$HOST/sshd_config" 2>"$HOST/sshd.log" &
fi
EXTRA_PIDS=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
SSH_OPTS=(-F /dev/null -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -l "$USER_NAME" 127.0.0.1)

step "a change ticket names the operator and the admin-shell grant"
"$JITCTL" dev ticket --data-dir "$DATA" --id CHG0042 --state approved --subject "$OPERATOR" \
  --access admin-shell --window 2h
export JITBROKER_SUBJECT_TOKEN=$("$JITCTL" dev subject-token --data-dir "$DATA" --sub "$OPERATOR")

step "jitctl ssh: a fresh key, a certificate, a command on the host, the lease revoked after"
out=$("$JITCTL" ssh --ticket CHG0042 -- "${SSH_OPTS[@]}" 'echo "logged in as $(id -un)"')
echo "$out"
[ "$out" = "logged in as $USER_NAME" ] || fail "jitctl ssh did not run the command"
ADMIN=(-H "Authorization: Bearer $(cat "$DATA/admin.token")")
curl -sf --cacert "$JITBROKER_CA" "${ADMIN[@]}" "$JITBROKER_URL/v1/leases?ticket=CHG0042&state=active" \
  | grep -q '"kind":"ssh"' && fail "jitctl ssh left its lease active"

step "a long session with a certificate of its own"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id_ed25519"
"$JITCTL" ssh-cert --ticket CHG0042 --public-key "$WORK/id_ed25519.pub" --out "$WORK/id_ed25519-cert.pub"
lease=$(ssh-keygen -L -f "$WORK/id_ed25519-cert.pub" | sed -n 's/^ *Key ID: "\(.*\)"$/\1/p')
ssh -i "$WORK/id_ed25519" "${SSH_OPTS[@]}" 'echo session-open; sleep 60' >"$WORK/session.out" &
session=$!
for _ in $(seq 100); do grep -q session-open "$WORK/session.out" && break; sleep 0.1; done
grep -q session-open "$WORK/session.out" || fail "the session did not open"

step "the ticket closes: the hook's host side ends the session, the KRL refuses the certificate"
"$JITCTL" dev ticket --data-dir "$DATA" --id CHG0042 --state closed --subject "$OPERATOR" \
  --access admin-shell
echo "{\"event\":\"lease.revoked\",\"lease\":\"$lease\",\"kind\":\"ssh\"}" | "$ex/end-sessions.sh"
for _ in $(seq 50); do kill -0 "$session" 2>/dev/null || break; sleep 0.1; done
kill -0 "$session" 2>/dev/null && fail "the open session survived the ticket's close"
"$ex/krl-fetch.sh" || fail "the KRL fetch failed"
ssh-keygen -Q -f "$KRL_FILE" "$WORK/id_ed25519-cert.pub" && fail "ssh-keygen -Q: not revoked"
if ssh -i "$WORK/id_ed25519" "${SSH_OPTS[@]}" true 2>/dev/null; then
  fail "sshd accepted the certificate of a closed ticket"
fi
echo "sshd refused the certificate of the closed ticket"
echo "operator-ssh: ok"

#!/usr/bin/env bash
# Plays the CI deploy story locally: an approved change ticket for a window, the job's OIDC
# token exchanged by `jitctl exec`, a deploy API that checks the broker's JWT, and access that
# ends with the change. github-workflow.yml and gitlab-ci.yml are the same job for real CI.
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")"
start_broker
JOB_SUB="repo:acme/api:environment:prod"

step "the change is approved for the next 30 minutes"
"$JITCTL" dev ticket --data-dir "$DATA" --id CHG0042 --state approved --subject "$JOB_SUB" \
  --access deploy --window 30m --requester alice@example.com --approver bob@example.com

step "the deploy API starts (it trusts the broker's JWKS)"
/usr/bin/python3 deploy_api.py "$WORK/api.port" & EXTRA_PIDS="$!"
for _ in $(seq 50); do [ -s "$WORK/api.port" ] && break; sleep 0.1; done
API="http://127.0.0.1:$(cat "$WORK/api.port")/deploy"

step "the job's OIDC token (GitHub would mint it; the dev issuer does here)"
export JITBROKER_SUBJECT_TOKEN=$("$JITCTL" dev subject-token --data-dir "$DATA" --sub "$JOB_SUB" \
  --claim repository=acme/api --claim ref=refs/heads/main)

step "jitctl exec runs the deploy with a scoped token"
out=$("$JITCTL" exec --ticket CHG0042 --scope deploy:write -- \
  sh -c 'curl -sf -X POST -H "Authorization: Bearer $JITBROKER_TOKEN" '"$API")
echo "$out"
echo "$out" | grep -q "deployed by $JOB_SUB under CHG0042" || fail "the deploy was not accepted"

step "without a token the API refuses"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API")
[ "$code" = 401 ] || fail "expected 401 without a token, got $code"

step "a token for another audience is refused"
set +e; "$JITCTL" token --ticket CHG0042 --audience admin-api >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 3 ] || fail "expected exit 3 for a refused audience, got $rc"

step "the change closes: no more tokens (exit 5)"
"$JITCTL" dev ticket --data-dir "$DATA" --id CHG0042 --state closed
set +e; "$JITCTL" token --ticket CHG0042 >/dev/null 2>"$WORK/err"; rc=$?; set -e
cat "$WORK/err"
[ "$rc" = 5 ] || fail "expected exit 5 after the change closed, got $rc"
echo "ci-deploy: ok"

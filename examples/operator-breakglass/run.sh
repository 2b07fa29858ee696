#!/usr/bin/env bash
# Plays the break-glass story: an emergency ticket with no approval yet, a one-hour admin
# token under the break-glass grant, the review flag in the audit log and at /v1/reviews,
# and revocation when the incident closes.
source "$(dirname "$0")/../lib.sh"
start_broker
OPERATOR=oncall@example.com
ADMIN=(-H "Authorization: Bearer $(cat "$DATA/admin.token")")

step "an incident: emergency ticket, nobody has approved it yet"
"$JITCTL" dev ticket --data-dir "$DATA" --id INC0007 --state approved --kind emergency \
  --subject "$OPERATOR" --access breakglass-admin --window 2h --requester "$OPERATOR" --no-approval
export JITBROKER_SUBJECT_TOKEN=$("$JITCTL" dev subject-token --data-dir "$DATA" --sub "$OPERATOR")

step "the on-call engineer gets a one-hour admin token"
out=$("$JITCTL" token --ticket INC0007 --json)
echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); r.pop("access_token"); print(r)' 
lease=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease_id"])')
ttl=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["expires_in"])')
[ "$ttl" -le 3600 ] || fail "break-glass credentials live at most an hour (got $ttl s)"
token=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

step "the issuance is flagged for review"
curl -sf --cacert "$JITBROKER_CA" "${ADMIN[@]}" "$JITBROKER_URL/v1/reviews" | grep -q "$lease" \
  || fail "the lease is not listed at /v1/reviews"
grep '"review.required"' "$DATA/audit.log" | grep -q "$lease" || fail "no review flag in the audit log"

step "the incident closes: the token is revoked"
"$JITCTL" dev ticket --data-dir "$DATA" --id INC0007 --state closed --kind emergency \
  --subject "$OPERATOR" --access breakglass-admin --requester "$OPERATOR" --no-approval
curl -sf --cacert "$JITBROKER_CA" "${ADMIN[@]}" --data-urlencode "token=$token" \
  "$JITBROKER_URL/v1/introspect" | grep -q '"active":false' || fail "the token is still active"
"$JITCTL" audit verify "$DATA/audit.log"
echo "operator-breakglass: ok"

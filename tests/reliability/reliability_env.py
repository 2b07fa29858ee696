"""Helpers shared by the reliability tests, on top of the integration tests' brokerproc and
exchange_env (imported from tests/integration through PYTHONPATH, never copied)."""
import base64
import json
import os
import subprocess
import time
from urllib.parse import urlencode

from exchange_env import JWT_TYPE, TOKEN_EXCHANGE

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def token_body(tid, caller, ttl=None):
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
            "subject_token": caller, "ticket": tid}
    if ttl:
        form["ttl"] = str(ttl)
    return urlencode(form)


def cert_body(tid, ttl=None):
    body = {"ticket": tid, "grant": "deploy", "key_type": "server"}
    if ttl:
        body["ttl"] = ttl
    return json.dumps(body)


def jti_of(token):
    """The jti claim of a JWT, read without verifying (the broker's lease is what is checked)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def all_leases(env, conn=None):
    """Every lease the broker holds, by id, through the admin listing's pages."""
    out, cursor = {}, ""
    c = conn or env.b.conn(timeout=30)
    try:
        for _ in range(1000):  # bounded: 1000 pages of 1000 leases
            path = "/v1/leases?limit=1000" + ("&cursor=" + cursor if cursor else "")
            status, _, data = env.b.request("GET", path, headers={
                "Authorization": "Bearer " + env.admin}, conn=c)
            assert status == 200, (status, data)
            page = json.loads(data)
            for lease in page["leases"]:
                out[lease["id"]] = lease
            if not page["next"]:
                return out
            cursor = page["next"]
        raise AssertionError("lease listing did not end")
    finally:
        if conn is None:
            c.close()


def rfc3339_to_epoch(text):
    """2026-12-01T21:13:11.123Z (or without the fraction) to seconds since the epoch."""
    import calendar
    base, _, frac = text.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs + (float("0." + frac) if frac else 0.0)


def audit_verify(data_dir):
    """`jitctl audit verify` over the rotated files (oldest first) and the live log."""
    rotated = sorted((f for f in os.listdir(data_dir) if f.startswith("audit.log.")),
                     key=lambda f: int(f.rsplit(".", 1)[1]))
    files = [os.path.join(data_dir, f) for f in rotated + ["audit.log"]]
    return subprocess.run([JITCTL, "audit", "verify"] + files, capture_output=True, text=True,
                          timeout=60)
